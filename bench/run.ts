/**
 * `bun run bench`: the SPEC §8 scenarios, each beside a baseline measured in the same run, printed as
 * one table. Uses its own database (chat_bench), Redis db (3) and index (messages_bench), reset at
 * start. Needs the services (`bun run services`) and wrk. Sizes: BENCH_MESSAGES (default 100000),
 * BENCH_SECONDS (default 10).
 */
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import Redis from "ioredis";
import { keysFor } from "../core/keys.ts";
import { indexMappings, indexSettings } from "../core/search/index.ts";
import { closedLoop, constantRate, percentile, wrk } from "./load.ts";
import { addRow, printTable } from "./table.ts";
import { backlogScenario } from "./backlog.ts";

const root = join(import.meta.dir, "..");
const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const env = {
  ...process.env,
  DATABASE_URL: "mysql://chat:chat@127.0.0.1:3306/chat_bench",
  REDIS_URL: "redis://127.0.0.1:6379/3",
  ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? "http://127.0.0.1:9200",
  SEARCH_INDEX: "messages_bench",
  SEARCH_REFRESH_INTERVAL: "1s",
  LOG_LEVEL: "warn",
  RATE_LIMIT_PER_MINUTE: "",
} as Record<string, string>;
const ES = env.ELASTICSEARCH_URL!;
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const children = new Set<Subprocess>();
const cleanup = () => children.forEach((c) => c.kill("SIGKILL"));
process.on("exit", cleanup);
process.on("SIGINT", () => (cleanup(), process.exit(130)));

function spawn(entry: string, extra: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", join(root, entry)], { cwd: root, env: { ...env, ...extra }, stdout: "ignore", stderr: "inherit" });
  children.add(proc);
  return proc;
}

async function up(url: string) {
  for (let i = 0; i < 200; i++) {
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await Bun.sleep(50);
  }
  throw new Error(`${url} did not come up`);
}

async function stop(proc: Subprocess) {
  proc.kill("SIGTERM");
  await proc.exited;
  children.delete(proc);
}

const rss = (proc: Subprocess) => Number(require("node:fs").readFileSync(`/proc/${proc.pid}/status`, "utf8").match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;

async function reset() {
  const socket = join(root, ".services/mariadb/mysqld.sock");
  const rootConn = existsSync(socket) ? await mysql.createConnection({ socketPath: socket, user: "root" }) : await mysql.createConnection({ uri: "mysql://chat:chat@127.0.0.1:3306/" });
  await rootConn.query("DROP DATABASE IF EXISTS chat_bench");
  await rootConn.query("CREATE DATABASE chat_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  if (existsSync(socket)) await rootConn.query("GRANT ALL ON chat_bench.* TO 'chat'@'%'").then(() => rootConn.query("GRANT ALL ON chat_bench.* TO 'chat'@'localhost'"));
  await rootConn.end();
  const redis = new Redis(env.REDIS_URL!);
  await redis.flushdb();
  redis.disconnect();
  for (const index of ["messages_bench_v1", "bench_raw_bulk"]) await fetch(`${ES}/${index}`, { method: "DELETE" });
  const migrate = Bun.spawn(["bun", join(root, "scripts/migrate.ts")], { env, stdout: "ignore", stderr: "inherit" });
  if ((await migrate.exited) !== 0) throw new Error("migrate failed");
}

async function streamState(group: string) {
  const redis = new Redis(env.REDIS_URL!);
  let lag = 0;
  let pending = 0;
  for (const stream of keysFor(4).streams()) {
    const info = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][];
    for (const row of info) {
      if (row[1] !== group) continue;
      pending += Number(row[row.indexOf("pending") + 1]);
      lag += Number(row[row.indexOf("lag") + 1] ?? 0);
    }
  }
  redis.disconnect();
  return lag + pending;
}

async function drain(group: "mysql" | "search", queued: number) {
  const started = performance.now();
  const worker = spawn("worker/main.ts", { WORKER_SINKS: group, WORKER_NAME: `bench-${group}` });
  while ((await streamState(group)) > 0) await Bun.sleep(50);
  const seconds = (performance.now() - started) / 1000;
  const memory = rss(worker);
  await stop(worker);
  return { rate: queued / seconds, memory };
}

async function main() {
  if (!Bun.which("wrk")) await installWrk();
  for (const [name, url] of [["Elasticsearch", `${ES}/_cluster/health`]] as const) {
    if (!(await fetch(url).then((r) => r.ok, () => false))) throw new Error(`${name} is not answering: run \`bun run services\` first`);
  }
  log(`resetting chat_bench, redis db 3, index messages_bench (messages: ${N}, wrk seconds: ${SECONDS})`);
  await reset();

  const api = spawn("server/main.ts", { PORT: "3901" });
  const echo = spawn("bench/echo-server.ts", { PORT: "3900" });
  await Promise.all([up("http://127.0.0.1:3901/healthz"), up("http://127.0.0.1:3900/echo/1")]);
  const API = "http://127.0.0.1:3901/api/v1";
  const post = (path: string, body: unknown) => fetch(`${API}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
  const { token } = await post("/applications", { name: "bench" });
  for (let i = 0; i < 51; i++) await post(`/applications/${token}/chats`, { name: `chat ${i}` });

  // 1. create throughput and p99 under wrk, beside the echo baseline.
  log("create message: wrk, 64 connections");
  const ours = await wrk(`${API}/applications/${token}/chats/`, join(import.meta.dir, "create-message.lua"), SECONDS);
  const base = await wrk("http://127.0.0.1:3900/echo/", join(import.meta.dir, "echo.lua"), SECONDS);
  if (ours.non2xx) log(`warning: ${ours.non2xx} non-2xx responses`);
  addRow("create message (req/s, wrk -c64)", ours.rps, base.rps, "≥ 0.60", ours.rps / base.rps >= 0.6, "ratio");
  addRow("create message p99 at full load (ms)", ours.p99, base.p99, "info", true, "ms");

  // 2. p99 at half the measured rate (open loop).
  const rate = Math.round(ours.rps / 2);
  log(`create message at a constant ${rate}/s`);
  const body = { body: "constant rate message with a few words" };
  const atHalf = await constantRate(rate, Math.min(SECONDS, 8), (i) => fetch(`${API}/applications/${token}/chats/${(i % 50) + 1}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.arrayBuffer()));
  const echoHalf = await constantRate(rate, Math.min(SECONDS, 8), () => fetch("http://127.0.0.1:3900/echo/1", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.arrayBuffer()));
  addRow(`create p99 at ${Math.round(atHalf.achieved)}/s (ms)`, percentile(atHalf.latencies, 99), percentile(echoHalf.latencies, 99), "≤ 5 ms", percentile(atHalf.latencies, 99) <= 5, "ms");

  // 3. N messages queued in one chat (chat 51), then the sinks drain everything queued.
  log(`queueing ${N} messages in one chat`);
  const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
  await closedLoop(N, 64, (i) => post(`/applications/${token}/chats/51/messages`, { body: `${words[i % 12]} ${words[(i * 7) % 12]} message ${i} zulu${i % 1000}` }));
  const apiMemory = rss(api);
  const redis = new Redis(env.REDIS_URL!);
  let queued = 0;
  for (const stream of keysFor(4).streams()) queued += await redis.xlen(stream);
  redis.disconnect();

  log(`draining ${queued} events into MySQL`);
  const toMysql = await drain("mysql", queued);
  const raw = await rawInsert(queued);
  addRow(`worker → MySQL (${queued} msgs/s)`, toMysql.rate, raw, "≥ 0.70", toMysql.rate / raw >= 0.7, "ratio");
  log(`draining ${queued} events into Elasticsearch`);
  const toEs = await drain("search", queued);
  const rawEs = await rawBulk(queued);
  addRow(`worker → Elasticsearch (msgs/s)`, toEs.rate, rawEs, "≥ 0.70", toEs.rate / rawEs >= 0.7, "ratio");
  await fetch(`${ES}/messages_bench/_refresh`, { method: "POST" });

  // 4. search latency on the chat of N messages, beside the same query sent to Elasticsearch directly.
  const queries = ["alpha", "brav", "zulu42", "char delta", "ech", "message 4", "otel", "kilo lima", "zz", "india juliet"];
  const searchLat = await closedLoop(200, 4, (i) => fetch(`${API}/applications/${token}/chats/51/messages/search?q=${encodeURIComponent(queries[i % 10]!)}`).then((r) => r.arrayBuffer()));
  const { buildQuery } = await import("../server/features/search/query.ts");
  const appId = 1;
  const esLat = await closedLoop(200, 4, (i) =>
    fetch(`${ES}/messages_bench/_search?routing=${appId}:51`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ size: 26, query: buildQuery(queries[i % 10]!, `${appId}:51`), sort: [{ _score: "desc" }, { number: "desc" }] }) }).then((r) => r.arrayBuffer()),
  );
  addRow(`search p95 on a ${N}-message chat (ms)`, percentile(searchLat, 95), percentile(esLat, 95), "≤ 30 ms", percentile(searchLat, 95) <= 30, "ms");
  addRow("search p50 (ms)", percentile(searchLat, 50), percentile(esLat, 50), "info", true, "ms");

  // 5. reads.
  const getLat = await closedLoop(5000, 16, (i) => fetch(`${API}/applications/${token}/chats/51/messages/${(i % N) + 1}`).then((r) => r.arrayBuffer()));
  const listLat = await closedLoop(5000, 16, () => fetch(`${API}/applications/${token}/chats/51/messages?limit=25&order=desc`).then((r) => r.arrayBuffer()));
  const echoGet = await closedLoop(5000, 16, () => fetch("http://127.0.0.1:3900/echo/1").then((r) => r.arrayBuffer()));
  addRow("get message p99 (ms)", percentile(getLat, 99), percentile(echoGet, 99), "≤ 5 ms", percentile(getLat, 99) <= 5, "ms");
  addRow("list page p99 (ms)", percentile(listLat, 99), percentile(echoGet, 99), "≤ 5 ms", percentile(listLat, 99) <= 5, "ms");

  // 6. live events: POST on one process, received on another.
  const api2 = spawn("server/main.ts", { PORT: "3902" });
  await up("http://127.0.0.1:3902/healthz");
  const live = await sseLatency(`http://127.0.0.1:3902/api/v1/applications/${token}/chats/1/events`, (i) => post(`/applications/${token}/chats/1/messages`, { body: `live ${i}` }));
  addRow("live event p99, across processes (ms)", percentile(live, 99), NaN, "≤ 100 ms", percentile(live, 99) <= 100, "ms");
  await stop(api2);

  // 7. accepted → searchable under a steady load, both sinks running.
  const worker = spawn("worker/main.ts", { WORKER_NAME: "bench-both" });
  const lag = await searchableLag(API, token, post);
  addRow(`accepted → searchable p99 at ${lag.rate}/s (ms)`, percentile(lag.latencies, 99), 1000, "≤ 2000 ms", percentile(lag.latencies, 99) <= 2000, "ms");
  addRow("accepted → searchable p50 (ms)", percentile(lag.latencies, 50), NaN, "info", true, "ms");
  addRow("API RSS after load (MB)", apiMemory, NaN, "≤ 150 MB", apiMemory <= 150, "MB");
  addRow("worker RSS (MB, max of sinks)", Math.max(toMysql.memory, toEs.memory, rss(worker)), NaN, "≤ 200 MB", Math.max(toMysql.memory, toEs.memory, rss(worker)) <= 200, "MB");
  await stop(worker);

  // 8. reads beside a backlog of pending writes (no worker runs from here on).
  await post(`/applications/${token}/chats`, { name: "backlog" });
  await backlogScenario({ redisUrl: env.REDIS_URL!, api: API, token, idle: 51, busy: 52, log });
  await stop(api);
  await stop(echo);
  printTable();
}

/** wrk is a Debian package: installed like the services' packages when missing (as root). */
async function installWrk() {
  if (process.getuid?.() !== 0) throw new Error("wrk is needed: apt-get install wrk");
  log("installing wrk (apt-get)");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const cmd of [["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"]]) {
    const proc = Bun.spawn(cmd, { env, stdout: "ignore", stderr: "pipe" });
    if ((await proc.exited) !== 0) throw new Error(`${cmd.join(" ")} failed: ${await new Response(proc.stderr).text()}`);
  }
}

/** Baseline: mysql2 multi-row INSERTs of the same number of rows, 500 per statement, one connection. */
async function rawInsert(rows: number): Promise<number> {
  const conn = await mysql.createConnection({ uri: env.DATABASE_URL });
  await conn.query("CREATE TABLE bench_raw_messages LIKE messages");
  const now = new Date();
  const started = performance.now();
  for (let i = 0; i < rows; i += 500) {
    const batch = Array.from({ length: Math.min(500, rows - i) }, (_, k) => [1, 51, i + k + 1, `raw message ${i + k} with a few words`, 1, null, now, now]);
    await conn.query("INSERT INTO bench_raw_messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ?", [batch]);
  }
  const rate = rows / ((performance.now() - started) / 1000);
  await conn.query("DROP TABLE bench_raw_messages");
  await conn.end();
  return rate;
}

/** Baseline: raw _bulk of the same number of documents, 500 per request, into a scratch index. */
async function rawBulk(docs: number): Promise<number> {
  await fetch(`${ES}/bench_raw_bulk`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ settings: indexSettings("1s"), mappings: indexMappings }) });
  const started = performance.now();
  for (let i = 0; i < docs; i += 500) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(docs, i + 500); k++) {
      lines.push(JSON.stringify({ index: { _id: `1:51:${k}`, routing: "1:51", version: 1, version_type: "external" } }), JSON.stringify({ app: 1, chat: "1:51", number: k, body: `raw message ${k} with a few words`, created_at: Date.now() }));
    }
    await fetch(`${ES}/bench_raw_bulk/_bulk`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: lines.join("\n") + "\n" }).then((r) => r.arrayBuffer());
  }
  const rate = docs / ((performance.now() - started) / 1000);
  await fetch(`${ES}/bench_raw_bulk`, { method: "DELETE" });
  return rate;
}

async function sseLatency(url: string, send: (i: number) => Promise<unknown>): Promise<number[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.getReader();
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const reading = (async () => {
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += new TextDecoder().decode(value);
      for (const match of buffer.matchAll(/"body":"live (\d+)"/g)) {
        const t = sentAt.get(Number(match[1]));
        if (t !== undefined) latencies.push(performance.now() - t), sentAt.delete(Number(match[1]));
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 1);
    }
  })();
  await Bun.sleep(200);
  for (let i = 0; i < 100; i++) {
    sentAt.set(i, performance.now());
    await send(i);
    await Bun.sleep(10);
  }
  await Bun.sleep(300);
  controller.abort();
  await reading;
  return latencies.sort((a, b) => a - b);
}

async function searchableLag(API: string, token: string, post: (path: string, body: unknown) => Promise<any>) {
  const rate = Number(process.env.BENCH_LAG_RATE ?? 1000);
  const latencies: number[] = [];
  const background = constantRate(rate, 15, (i) => post(`/applications/${token}/chats/${(i % 50) + 1}/messages`, { body: `steady load ${i}` }));
  const markers = (async () => {
    for (let i = 0; i < 40; i++) {
      const word = `marker${i}x${Date.now()}`;
      const started = performance.now();
      await post(`/applications/${token}/chats/1/messages`, { body: word });
      for (;;) {
        const hits = (await fetch(`${API}/applications/${token}/chats/1/messages/search?q=${word}`).then((r) => r.json() as Promise<any>)).data;
        if (hits?.length) break;
        await Bun.sleep(20);
      }
      latencies.push(performance.now() - started);
      await Bun.sleep(200);
    }
  })();
  const [load] = await Promise.all([background, markers]);
  return { latencies: latencies.sort((a, b) => a - b), rate: Math.round(load.achieved) };
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`[bench] failed: ${error instanceof Error ? error.stack : error}`);
    cleanup();
    process.exit(1);
  },
);
