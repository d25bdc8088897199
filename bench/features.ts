/**
 * `bun run bench:features`: what each production feature costs on the create-message path, one run,
 * same machine, same wrk command (2 threads, 64 connections): requests/s with the feature off and on,
 * the median of BENCH_ROUNDS rounds (default 5).
 * Reuses the bench database set up by `bun run bench` (run that first).
 */
import type { Subprocess } from "bun";
import { join } from "node:path";
import Redis from "ioredis";
import { ensureWrk, wrk } from "./load.ts";

const root = join(import.meta.dir, "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const env = { ...process.env, DATABASE_URL: "mysql://chat:chat@127.0.0.1:3306/chat_bench", REDIS_URL: "redis://127.0.0.1:6379/3", SEARCH_INDEX: "messages_bench", LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "" } as Record<string, string>;

async function withApi<T>(extra: Record<string, string>, run: (url: string) => Promise<T>): Promise<T> {
  const proc: Subprocess = Bun.spawn(["bun", join(root, "server/main.ts")], { env: { ...env, PORT: "3911", ...extra }, stdout: "ignore", stderr: "inherit" });
  try {
    for (let i = 0; i < 100 && !(await fetch("http://127.0.0.1:3911/healthz").then((r) => r.ok, () => false)); i++) await Bun.sleep(50);
    return await run("http://127.0.0.1:3911/api/v1");
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);

const { token } = await withApi({}, async (api) => {
  const app = await post(`${api}/applications`, { name: "features" });
  for (let i = 0; i < 50; i++) await post(`${api}/applications/${app.token}/chats`, {});
  return app;
});

const plain = join(import.meta.dir, "create-message.lua");
const idempotent = join(import.meta.dir, "create-message-idempotent.lua");
type Variant = { name: string; env: Record<string, string>; script: string; before?: (api: string) => Promise<() => void> };
const subscribers = async (api: string) => {
  const controller = new AbortController();
  await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${api}/applications/${token}/chats/${i + 1}/events`, { signal: controller.signal }).then((r) => void r.body?.getReader().read())));
  return () => controller.abort();
};
const variants: Variant[] = [
  { name: "baseline: no key, no rate limit, no subscriber", env: {}, script: plain },
  { name: "+ Idempotency-Key on every request", env: {}, script: idempotent },
  { name: "+ rate limiting (token bucket in the script)", env: { RATE_LIMIT_PER_MINUTE: "10000000" }, script: plain },
  { name: "+ 50 live-event subscribers (one per chat)", env: {}, script: plain, before: subscribers },
  { name: "all of the above", env: { RATE_LIMIT_PER_MINUTE: "10000000" }, script: idempotent, before: subscribers },
];
// Rounds in rotated order, median per variant: the machine drifts (the stream grows, no worker
// drains it) and a single pass would charge that drift to whichever variant ran last.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
// With no worker running, every accepted message stays in its stream, its chat's pending overlay and
// event log: drop those between measurements so each variant starts from the same Redis.
const redis = new Redis(env.REDIS_URL!);
async function dropQueuedWrites() {
  for (const pattern of ["stream:*", "overlay:*", "eventlog:*", "idem:*", "rate:*"]) {
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (found.length) await redis.unlink(...found);
    } while (cursor !== "0");
  }
}
// One discarded run first: the first seconds after start-up are slower (JIT, caches) whatever runs.
await ensureWrk(console.log);
await dropQueuedWrites();
await withApi({}, (api) => wrk(`${api}/applications/${token}/chats/`, plain, SECONDS));
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < variants.length; i++) {
    const variant = variants[(i + round) % variants.length]!;
    await dropQueuedWrites();
    const rps = await withApi(variant.env, async (api) => {
      const after = await variant.before?.(api);
      const result = await wrk(`${api}/applications/${token}/chats/`, variant.script, SECONDS);
      after?.();
      return result.rps;
    });
    samples.get(variant.name)!.push(rps);
    process.stderr.write(`[features] round ${round + 1}: ${variant.name}: ${Math.round(rps)} req/s\n`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: [string, number][] = variants.map((v) => [v.name, median(samples.get(v.name)!)]);

const base = rows[0]![1];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(`| variant | req/s (median of ${ROUNDS}) | range | vs baseline |\n|---|---:|---:|---:|`);
for (const [name, rps] of rows) {
  const all = samples.get(name)!;
  console.log(`| ${name} | ${fmt(rps)} | ${fmt(Math.min(...all))}–${fmt(Math.max(...all))} | ${(rps / base).toFixed(2)} |`);
}
process.exit(0);
