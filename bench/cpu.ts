/**
 * CPU time per operation (SPEC §8): the kernel's own accounting of each process, utime + stime from
 * /proc/<pid>/stat (every thread of the process), read before and after a measured load.
 */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";

const TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** CPU seconds a process has used so far (user + system); NaN when it is gone or not ours to read. */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/**
 * The share of the whole machine's CPU time (every core) spent busy between two readings of
 * /proc/stat: `machineBusy()` starts, the returned function ends, 0..1.
 */
export function machineBusy(): () => number {
  const read = () => {
    const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, idle: ticks[3]! + ticks[4]! };
  };
  const before = read();
  return () => {
    const after = read();
    const total = after.total - before.total;
    return total > 0 ? 1 - (after.idle - before.idle) / total : NaN;
  };
}

/**
 * Waits until the machine is quiet: a whole second under `threshold` busy (Elasticsearch merging
 * segments and MariaDB purging after a drain keep a core busy for a while). Gives up after
 * `deadlineMs` and says so; returns the last second's busy share.
 */
export async function untilQuiet(log: (msg: string) => void, threshold = 0.15, deadlineMs = 60_000): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const busy = machineBusy();
    await Bun.sleep(1000);
    const share = busy();
    if (share < threshold) return share;
    if (Date.now() > deadline) {
      log(`note: the machine stayed ${Math.round(share * 100)} % busy for ${deadlineMs / 1000} s before a measured run; measuring anyway`);
      return share;
    }
  }
}

/** Named processes to meter; a name without a pid (not found) makes its sums NaN. */
export type Pids = Record<string, number | undefined>;

/** Starts metering `pids`; `stop()` returns the CPU seconds each used since. */
export function meter(pids: Pids) {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  return {
    stop(): Record<string, number> {
      return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) - before[name]!]));
    },
  };
}

/** Sum of the named processes' CPU seconds (all of them when `names` is omitted). */
export function sum(used: Record<string, number>, names?: string[]): number {
  return (names ?? Object.keys(used)).reduce((total, name) => total + (used[name] ?? NaN), 0);
}

/** CPU microseconds per operation. */
export const perOp = (seconds: number, ops: number) => (ops > 0 ? (seconds * 1e6) / ops : NaN);

/**
 * The local process listening on a TCP port (MySQL, Elasticsearch, a Redis node), found through
 * /proc/net/tcp{,6} and the socket links under /proc/<pid>/fd; undefined when none of this machine's
 * processes we can see owns it (a server in a container: its CPU is then not counted, and said so)
 * or when its command name does not match `command`.
 */
export function pidOfPort(port: number, command: RegExp): number | undefined {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A" && cols[1]?.endsWith(`:${hex}`)) inodes.add(`socket:[${cols[9]}]`);
    }
  }
  if (!inodes.size) return undefined;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = "";
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!inodes.has(link)) continue;
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      return command.test(comm) ? Number(entry) : undefined;
    }
  }
  return undefined;
}

export const commands = { redis: /^redis-server/, mysql: /^(mariadbd|mysqld)$/, elasticsearch: /^java$/ };
