/**
 * Real API and worker processes for the tests, started on free ports with the test environment,
 * their output kept for failure messages, all killed when the test run ends.
 */
import type { Subprocess } from "bun";
import { join } from "node:path";

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
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number>;
};

function spawn(entry: string, env: Record<string, string>): Proc {
  let output = "";
  const proc = Bun.spawn(["bun", join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(proc);
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output = (output + new TextDecoder().decode(chunk)).slice(-20_000);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  return {
    proc,
    output: () => output,
    stop: async (signal = "SIGTERM") => {
      proc.kill(signal);
      const code = await proc.exited;
      running.delete(proc);
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

export async function startApi(env: Record<string, string> = {}): Promise<Api> {
  const port = await freePort();
  const api = spawn("server/main.ts", { PORT: String(port), ...env });
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

export function startWorker(env: Record<string, string> = {}): Proc {
  return spawn("worker/main.ts", env);
}

let shared: Promise<{ apis: Api[]; worker: Proc }> | undefined;

/** Two API processes and one worker shared by the test files of one run. */
export function sharedStack() {
  shared ??= (async () => {
    const apis = await Promise.all([startApi(), startApi()]);
    const worker = startWorker({ WORKER_NAME: "shared-worker" });
    return { apis, worker };
  })();
  return shared;
}
