/**
 * Real API and worker processes for the tests, started on free ports with the test environment,
 * their output kept for failure messages, all killed when the test run ends.
 */
import type { Subprocess } from "bun";
import { join } from "node:path";
import type { GroupName } from "../../core/keys.ts";
import { drained } from "./stack.ts";

const root = join(import.meta.dir, "../..");
const running = new Set<Subprocess>();

/** Kills every process the tests started (tests/setup.ts calls it after the last test). */
export function killAll() {
  for (const proc of running) {
    proc.kill("SIGCONT");
    proc.kill("SIGKILL");
  }
  running.clear();
}
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

export type Proc = {
  proc: Subprocess;
  /** stdout and stderr as they arrived, interleaved. */
  output: () => string;
  /** Each stream on its own (whole lines, never interleaved with the other). */
  stdout: () => string;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number>;
};

/** `fullOutput` keeps everything the process printed; by default only its last 20,000 characters. */
export type SpawnOptions = { fullOutput?: boolean };

function spawn(entry: string, env: Record<string, string>, options: SpawnOptions = {}): Proc {
  let output = "";
  const streams = { stdout: "", stderr: "" };
  const keep = options.fullOutput ? Infinity : 20_000;
  const proc = Bun.spawn(["bun", join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(proc);
  const collect = async (stream: ReadableStream<Uint8Array>, name: keyof typeof streams) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      streams[name] += text;
      if (output.length > keep) output = output.slice(-keep);
      if (streams[name].length > keep) streams[name] = streams[name].slice(-keep);
    }
  };
  const collected = Promise.all([collect(proc.stdout as ReadableStream<Uint8Array>, "stdout"), collect(proc.stderr as ReadableStream<Uint8Array>, "stderr")]).catch(() => {});
  return {
    proc,
    output: () => output,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    stop: async (signal = "SIGTERM") => {
      proc.kill(signal);
      const code = await proc.exited;
      running.delete(proc);
      // What it printed last is read too (bounded, should a pipe stay open).
      await Promise.race([collected, Bun.sleep(2000)]);
      return code;
    },
  };
}

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

export type Api = Proc & { url: string };

export async function startApi(env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<Api> {
  const port = await freePort();
  const api = spawn("server/main.ts", { PORT: String(port), ...env }, options);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (api.proc.exitCode !== null) throw new Error(`API exited: ${api.output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { ...api, url };
    } catch {}
    await Bun.sleep(50);
  }
  throw new Error(`API did not start: ${api.output()}`);
}

export function startWorker(env: Record<string, string> = {}, options: SpawnOptions = {}): Proc {
  return spawn("worker/main.ts", env, options);
}

export type SharedStack = {
  apis: Api[];
  /** TEST_WORKERS workers (default 1), named shared-worker-1, shared-worker-2, … */
  workers: Proc[];
  /**
   * Waits until `groups` (default: the MySQL group) have acknowledged everything, then SIGSTOPs every
   * shared worker: paused between batches, never inside a MySQL transaction holding row locks.
   */
  pauseWorkers: (...groups: GroupName[]) => Promise<void>;
  /** SIGCONTs every shared worker (harmless when they run). */
  resumeWorkers: () => void;
};

let shared: Promise<SharedStack> | undefined;

/** How many shared workers: TEST_WORKERS (the cluster pass of test:all runs 2), default 1. */
function workerCount(): number {
  const raw = process.env.TEST_WORKERS?.trim() || "1";
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 16) throw new Error(`TEST_WORKERS must be an integer from 1 to 16, got "${raw}"`);
  return Number(raw);
}

/** Two API processes and TEST_WORKERS workers shared by the test files of one run. */
export function sharedStack(): Promise<SharedStack> {
  shared ??= (async () => {
    const apis = await Promise.all([startApi(), startApi()]);
    const workers = Array.from({ length: workerCount() }, (_, i) => startWorker({ WORKER_NAME: `shared-worker-${i + 1}` }));
    const resumeWorkers = () => {
      for (const worker of workers) worker.proc.kill("SIGCONT");
    };
    const pauseWorkers = async (...groups: GroupName[]) => {
      for (const group of groups.length ? groups : ["mysql" as const]) await drained(group);
      for (const worker of workers) worker.proc.kill("SIGSTOP");
    };
    return { apis, workers, pauseWorkers, resumeWorkers };
  })();
  return shared;
}
