/** Small load tools: wrk runs, an open-loop generator, a closed-loop and a constant-rate client, percentiles. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** wrk is a Debian package: installed like the services' packages when missing (as root). */
export async function ensureWrk(log: (msg: string) => void): Promise<void> {
  if (Bun.which("wrk")) return;
  if (process.getuid?.() !== 0) throw new Error("wrk is needed: apt-get install wrk");
  log("installing wrk (apt-get)");
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const cmd of [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]]) {
    const proc = Bun.spawn(cmd, { env: aptEnv, stdout: "ignore", stderr: "pipe" });
    if ((await proc.exited) !== 0) throw new Error(`${cmd.join(" ")} failed: ${await new Response(proc.stderr).text()}`);
  }
}

export async function wrk(url: string, script: string, seconds: number, connections = 64) {
  const proc = Bun.spawn(["wrk", "-t2", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", script, url], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p99 = toMs(/99%\s+([\d.]+\w+)/.exec(out)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const requests = Number(/(\d+) requests in /.exec(out)?.[1] ?? NaN);
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
  return { rps, p99, requests, non2xx: Number(errors ?? 0), socketErrors, raw: out };
}

function toMs(value: string | undefined): number {
  if (!value) return NaN;
  const n = parseFloat(value);
  if (value.endsWith("us")) return n / 1000;
  if (value.endsWith("ms")) return n;
  if (value.endsWith("s")) return n * 1000;
  return n;
}

/** `concurrency` loops calling `send` until `total` calls are done; returns sorted latencies (ms). */
export async function closedLoop(total: number, concurrency: number, send: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const started = performance.now();
        await send(i);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/** Sends at a fixed rate (open loop) for `seconds`; returns sorted latencies and the rate achieved. */
export async function constantRate(rate: number, seconds: number, send: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < due) {
      const i = sent++;
      const t0 = performance.now();
      inflight.push(send(i).then(() => void latencies.push(performance.now() - t0)));
    }
    await Bun.sleep(1);
  }
  await Promise.all(inflight);
  return { latencies: latencies.sort((a, b) => a - b), achieved: sent / seconds };
}

export type OpenLoopFigures = { p50: number; p90: number; p95: number; p99: number; p999: number; max: number; achieved: number; sent: number; non2xx: number; failed: number; generator: "openloop" | "bun" };

let openloopBinary: Promise<string | undefined> | undefined;

/** Builds openloop/main.go once per run (Go's standard library only); undefined without Go. */
function buildOpenLoop(log: (msg: string) => void): Promise<string | undefined> {
  openloopBinary ??= (async () => {
    if (!Bun.which("go")) {
      log("warning: no Go toolchain: p99 at a constant rate is measured with the Bun client, which shares the CPU with the server");
      return undefined;
    }
    const out = join(import.meta.dir, "results", "openloop");
    mkdirSync(join(import.meta.dir, "results"), { recursive: true });
    const build = Bun.spawn(["go", "build", "-o", out, "."], { cwd: join(import.meta.dir, "openloop"), stdout: "ignore", stderr: "pipe" });
    if ((await build.exited) !== 0) throw new Error(`go build of bench/openloop failed: ${(await new Response(build.stderr).text()).slice(0, 500)}`);
    return out;
  })();
  return openloopBinary;
}

/** The figures of a latency list from the Bun fallback, in the generator's shape. */
function bunFigures(run: { latencies: number[]; achieved: number }, non2xx: number, failed: number): OpenLoopFigures {
  const p = (q: number) => percentile(run.latencies, q);
  return { p50: p(50), p90: p(90), p95: p(95), p99: p(99), p999: p(99.9), max: p(100), achieved: run.achieved, sent: run.latencies.length + failed, non2xx, failed, generator: "bun" };
}

async function runOpenLoop(binary: string, args: string[]): Promise<OpenLoopFigures> {
  const proc = Bun.spawn([binary, ...args], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`openloop failed: ${(await new Response(proc.stderr).text()).slice(0, 500)}`);
  return { ...(JSON.parse(out) as Omit<OpenLoopFigures, "generator">), generator: "openloop" };
}

/**
 * POSTs `body` at a constant `rate` for `seconds` to `${prefix}${chat}${suffix}` (chats 1..50), open
 * loop: latency counts from each request's due time. The generator is openloop/main.go: a client in
 * Bun spent more CPU per request than the API it measured, so at half the API's rate the two cores
 * were saturated and the tail was the generator's (see bench/README.md). Falls back to
 * `constantRate` in Bun without a Go toolchain.
 */
export async function openLoop(prefix: string, suffix: string, rate: number, seconds: number, body: string, log: (msg: string) => void): Promise<OpenLoopFigures> {
  const binary = await buildOpenLoop(log);
  if (!binary) {
    let non2xx = 0;
    let failed = 0;
    const run = await constantRate(rate, seconds, (i) =>
      fetch(`${prefix}${(i % 50) + 1}${suffix}`, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
        (r) => (r.status >= 300 && non2xx++, r.arrayBuffer()),
        () => void failed++,
      ),
    );
    return bunFigures(run, non2xx, failed);
  }
  return runOpenLoop(binary, ["-url", prefix, "-suffix", suffix, "-rate", String(rate), "-duration", `${seconds}s`, "-chats", "50", "-body", body]);
}

/** A request of `openLoopRequests`: a GET of `url`, or a POST of the JSON `body` to it. */
export type Target = { url: string; body?: string };

/**
 * Sends `targets` in turn (request i sends target i mod their number) at a constant `rate` for
 * `seconds`, open loop, with the same generator as `openLoop`: GETs, or POSTs of each target's JSON
 * body when `method` is POST. The targets go to a file under results/ for the generator.
 */
export async function openLoopRequests(targets: Target[], method: "GET" | "POST", rate: number, seconds: number, log: (msg: string) => void): Promise<OpenLoopFigures> {
  const binary = await buildOpenLoop(log);
  if (!binary) {
    let non2xx = 0;
    let failed = 0;
    const run = await constantRate(rate, seconds, (i) => {
      const t = targets[i % targets.length]!;
      const init: RequestInit = method === "POST" ? { method, headers: { "content-type": "application/json" }, body: t.body ?? "" } : {};
      return fetch(t.url, init).then(
        (r) => (r.status >= 300 && non2xx++, r.arrayBuffer()),
        () => void failed++,
      );
    });
    return bunFigures(run, non2xx, failed);
  }
  const file = join(import.meta.dir, "results", `targets-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  if (targets.some((t) => /[\t\n]/.test(t.url) || /\n/.test(t.body ?? ""))) throw new Error("a target's URL may not hold a tab or a newline, nor its body a newline");
  writeFileSync(file, targets.map((t) => (t.body === undefined ? t.url : `${t.url}\t${t.body}`)).join("\n") + "\n");
  try {
    return await runOpenLoop(binary, ["-targets", file, "-method", method, "-rate", String(rate), "-duration", `${seconds}s`]);
  } finally {
    rmSync(file, { force: true });
  }
}
