/**
 * Warming a server up before its latency is measured. A Bun process under a new load spends its
 * first seconds compiling the hot code (JavaScriptCore's JIT threads, named "JITWorker…"), and until
 * that is done it answers from slower tiers while the compiler takes the other core. A long-running
 * server has done that long ago. Measured on a fresh API serving 2,000 list pages/s (2026-11-26,
 * 5 s windows): its JIT threads used 112 µs of CPU per request in the first window, 11–13 in the next
 * two and none after, while the p99 went 196, 5.2, 7.0, 4.5, 8.2, then 3.3–3.5 ms; the read floor, a
 * much smaller program, compiled in its first two windows (82, then 9 µs per request).
 */
import { readdirSync, readFileSync } from "node:fs";
import { pidOfPort } from "./cpu.ts";
import { openLoopRequests, type Target } from "./load.ts";

/** A window of the warm-up, seconds. */
const WINDOW_SECONDS = 2;
/** The warm-up ends when the JIT threads used less than this share of one core over a window. */
const SETTLED_SHARE = 0.01;
/** And at the latest after this long, settled or not (the log says which). */
const MAX_SECONDS = 40;

/** CPU seconds (user + system) of each JIT compiler thread of `pid`, by thread id. */
export function jitThreadSeconds(pid: number): Map<string, number> {
  const seconds = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return seconds;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!name.startsWith("JITWorker")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      seconds.set(tid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended meanwhile: it compiles nothing more.
    }
  }
  return seconds;
}

/** CPU the JIT threads used between two readings (a thread that ended in between is left out: it had stopped compiling). */
export function jitSecondsBetween(before: Map<string, number>, after: Map<string, number>): number {
  let used = 0;
  for (const [tid, seconds] of after) used += seconds - (before.get(tid) ?? 0);
  return used;
}

/**
 * Sends `targets` at `rate` (open loop) in windows of 2 s until the JIT threads of the Bun process
 * listening on the targets' port used less than 1 % of a core over a window, or for 40 s; 2 s when
 * that process cannot be found. Returns the seconds it took.
 */
export async function warmUp(targets: Target[], rate: number, log: (msg: string) => void): Promise<number> {
  const url = new URL(targets[0]!.url);
  const pid = pidOfPort(Number(url.port || 80), /^bun$/);
  if (pid === undefined) {
    log(`warm-up of ${url.host}: its process was not found; a fixed ${WINDOW_SECONDS} s`);
    await openLoopRequests(targets, "GET", rate, WINDOW_SECONDS, log);
    return WINDOW_SECONDS;
  }
  let elapsed = 0;
  for (;;) {
    const before = jitThreadSeconds(pid);
    await openLoopRequests(targets, "GET", rate, WINDOW_SECONDS, log);
    elapsed += WINDOW_SECONDS;
    const share = jitSecondsBetween(before, jitThreadSeconds(pid)) / WINDOW_SECONDS;
    if (share < SETTLED_SHARE) return elapsed;
    if (elapsed >= MAX_SECONDS) {
      log(`warning: ${url.host}${url.pathname}: the JIT still used ${(share * 100).toFixed(1)} % of a core after ${elapsed} s of warm-up; measured anyway`);
      return elapsed;
    }
  }
}
