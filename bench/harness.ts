/**
 * What every bench scenario shares: the sizes (BENCH_*), the environment of the processes it starts
 * (its own database chat_bench, Redis db 3, index messages_bench), and starting, waiting for and
 * stopping those processes (all killed when the bench exits).
 */
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roundsFrom } from "./rounds.ts";

export const root = join(import.meta.dir, "..");
export const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const ROUNDS = roundsFrom(process.env.BENCH_ROUNDS);
/** The steady create rate of the accepted → searchable scenario: SPEC §8 says 5,000 messages/s. */
export const LAG_RATE = Number(process.env.BENCH_LAG_RATE ?? 5000);
/** BENCH_SCENARIOS=reads: the read rows only (run.ts readsOnly), on the same data; unset: everything. */
export const READS_ONLY = (() => {
  const value = process.env.BENCH_SCENARIOS ?? "";
  if (value !== "" && value !== "reads") throw new Error(`BENCH_SCENARIOS may be "reads" or unset, got ${value}`);
  return value === "reads";
})();
export const CLUSTER = ["1", "only"].includes(process.env.BENCH_CLUSTER ?? "") ? (process.env.BENCH_CLUSTER as "1" | "only") : undefined;

/** The caller's MariaDB (host, port, user of DATABASE_URL, default chat:chat on 127.0.0.1:3306), database chat_bench. */
const databaseUrl = new URL(process.env.DATABASE_URL || "mysql://chat:chat@127.0.0.1:3306/chat");
databaseUrl.pathname = "/chat_bench";
databaseUrl.search = "";

export const env = {
  ...process.env,
  DATABASE_URL: databaseUrl.toString(),
  // The bench reads its own database: a replica of the caller's (DATABASE_READ_URL) holds no chat_bench.
  DATABASE_READ_URL: "",
  REDIS_URL: "redis://127.0.0.1:6379/3",
  // The standalone scenarios never inherit a cluster or WAIT from the caller's shell (cluster.ts sets its own).
  REDIS_CLUSTER_NODES: "",
  REDIS_WAIT_REPLICAS: "",
  // The spec floor's client switch (spec-floor-server.ts) is for trying by hand, never the bench's.
  REDIS_CLIENT: "",
  ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? "http://127.0.0.1:9200",
  SEARCH_INDEX: "messages_bench",
  SEARCH_REFRESH_INTERVAL: "1s",
  LOG_LEVEL: "warn",
  RATE_LIMIT_PER_MINUTE: "",
  // The webhooks scenario's receiver listens on loopback.
  WEBHOOK_ALLOW_PRIVATE_URLS: "true",
} as Record<string, string>;
export const ES = env.ELASTICSEARCH_URL!;

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

const children = new Set<Subprocess>();
export const cleanup = () => children.forEach((c) => c.kill("SIGKILL"));
process.on("exit", cleanup);
process.on("SIGINT", () => (cleanup(), process.exit(130)));

/** Starts `bun <entry>` with the bench's environment and `extra`; killed when the bench exits. */
export function spawn(entry: string, extra: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", join(root, entry)], { cwd: root, env: { ...env, ...extra }, stdout: "ignore", stderr: "inherit" });
  children.add(proc);
  return proc;
}

/**
 * Starts a process and resolves once a line of its output (the JSON logs on stdout) contains
 * `readyText`: what it costs to start (loading modules, connecting) then stays out of a measurement
 * begun here, as the baselines' own start-up does. The rest of its output is read on; `untilLine`
 * waits for a later line (within `timeoutMs`).
 */
export async function spawnReady(entry: string, extra: Record<string, string>, readyText: string, timeoutMs = 30_000) {
  const proc = Bun.spawn(["bun", join(root, entry)], { cwd: root, env: { ...env, ...extra }, stdout: "pipe", stderr: "inherit" });
  children.add(proc);
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  let ended = false;
  let wake = () => {};
  void (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
      if (chunk.done) break;
      seen = (seen + decoder.decode(chunk.value, { stream: true })).slice(-4096);
      wake();
    }
    ended = true;
    wake();
  })();
  /** Resolves once the output holds `text` after what the previous wait matched. */
  const untilLine = async (text: string, waitMs: number) => {
    const deadline = Date.now() + waitMs;
    while (!seen.includes(text)) {
      if (ended) throw new Error(`${entry} exited before logging "${text}"`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${entry} did not log "${text}" within ${waitMs} ms`);
      await new Promise<void>((done) => {
        const timer = setTimeout(done, left);
        wake = () => (clearTimeout(timer), done());
      });
    }
    seen = seen.slice(seen.indexOf(text) + text.length);
  };
  await untilLine(readyText, timeoutMs);
  return Object.assign(proc, { untilLine });
}

/** Waits until `url` answers below 500 (10 s at most). */
export async function up(url: string) {
  for (let i = 0; i < 200; i++) {
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await Bun.sleep(50);
  }
  throw new Error(`${url} did not come up`);
}

export async function stop(proc: Subprocess) {
  proc.kill("SIGTERM");
  await proc.exited;
  children.delete(proc);
}

/** Resident memory of a running process (MB). */
export const rss = (proc: Subprocess) => Number(readFileSync(`/proc/${proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
