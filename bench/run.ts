/**
 * `bun run bench`: the SPEC §8 scenarios, each beside a baseline measured in the same run, printed as
 * one table and written as JSON under bench/results/. Uses its own database (chat_bench), Redis db (3)
 * and index (messages_bench), reset at start. Needs the services (`bun run services`) and wrk. Sizes:
 * BENCH_MESSAGES (default 100000), BENCH_SECONDS (default 10). BENCH_CLUSTER=1 runs the create and
 * drain scenarios on the local Redis Cluster too (cluster.ts); BENCH_CLUSTER=only runs just those
 * (and the echo baseline they are compared with).
 */
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import Redis, { type Cluster } from "ioredis";
import { keysFor } from "../core/keys.ts";
import { indexMappings, indexSettings } from "../core/search/index.ts";
import { closedLoop, constantRate, percentile, wrk } from "./load.ts";
import { addRow, printTable, writeResults } from "./table.ts";
import { backlogScenario } from "./backlog.ts";
import { commands, meter, perOp, pidOfPort, sum, type Pids } from "./cpu.ts";
import { clusterScenarios, prepareCluster } from "./cluster.ts";
import { storageFootprint } from "./storage.ts";

const root = join(import.meta.dir, "..");
const N = Number(process.env.BENCH_MESSAGES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLUSTER = ["1", "only"].includes(process.env.BENCH_CLUSTER ?? "") ? process.env.BENCH_CLUSTER : undefined;
const env = {
  ...process.env,
  DATABASE_URL: "mysql://chat:chat@127.0.0.1:3306/chat_bench",
  REDIS_URL: "redis://127.0.0.1:6379/3",
  // The standalone scenarios never inherit a cluster or WAIT from the caller's shell (cluster.ts sets its own).
  REDIS_CLUSTER_NODES: "",
  REDIS_WAIT_REPLICAS: "",
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

/**
 * What `group` still has to do on every stream shard: entries unread (lag, or the stream's length when
 * Redis cannot tell) plus read but unacknowledged; done once it has read up to each stream's last id
 * and holds nothing pending.
 */
async function streamState(redis: Redis | Cluster, group: string) {
  let remaining = 0;
  let done = true;
  for (const stream of keysFor(4).streams()) {
    const rows = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][];
    const row = rows.map((r) => Object.fromEntries(Array.from({ length: r.length / 2 }, (_, i) => [String(r[2 * i]), r[2 * i + 1]]))).find((r) => r.name === group);
    const last = String(((await redis.xinfo("STREAM", stream).catch(() => [])) as unknown[]).find((_, i, a) => a[i - 1] === "last-generated-id") ?? "0-0");
    if (!row) {
      remaining += await redis.xlen(stream);
      done &&= last === "0-0";
      continue;
    }
    remaining += Number(row.pending) + (row.lag === null || row.lag === undefined ? await redis.xlen(stream) : Number(row.lag));
    done &&= Number(row.pending) === 0 && String(row["last-delivered-id"]) === last;
  }
  return { remaining, done };
}

/**
 * One worker with one sink drains everything its group has left; CPU of the worker and of the given
 * processes (the sink's server, Redis) over the drain. Fails when nothing moves for a minute.
 */
async function drain(group: "mysql" | "search", opts: { redis: Redis | Cluster; env?: Record<string, string>; sink: Pids; redisPids: Pids }) {
  const events = (await streamState(opts.redis, group)).remaining;
  const started = performance.now();
  const worker = spawn("worker/main.ts", { ...opts.env, WORKER_SINKS: group, WORKER_NAME: `bench-${group}` });
  const cpu = meter({ worker: worker.pid, ...opts.sink, ...opts.redisPids });
  let last = events;
  let moved = Date.now();
  for (;;) {
    const state = await streamState(opts.redis, group);
    if (state.done) break;
    if (state.remaining !== last) (last = state.remaining), (moved = Date.now());
    if (Date.now() - moved > 60_000) throw new Error(`draining ${group}: ${state.remaining} entries left, none moved for a minute`);
    await Bun.sleep(50);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = cpu.stop();
  const memory = rss(worker);
  await stop(worker);
  return { rate: events / seconds, events, memory, used };
}

async function main() {
  if (!Bun.which("wrk")) await installWrk();
  for (const [name, url] of [["Elasticsearch", `${ES}/_cluster/health`]] as const) {
    if (!(await fetch(url).then((r) => r.ok, () => false))) throw new Error(`${name} is not answering: run \`bun run services\` first`);
  }
  // Before anything long: the cluster is up, healthy and nobody else's (cluster.ts).
  if (CLUSTER) await prepareCluster(log);
  log(`resetting chat_bench, redis db 3, index messages_bench (messages: ${N}, wrk seconds: ${SECONDS}${CLUSTER ? `, cluster: ${CLUSTER}` : ""})`);
  await reset();
  const pids = {
    redis: pidOfPort(Number(new URL(env.REDIS_URL!).port || 6379), commands.redis),
    mysql: pidOfPort(3306, commands.mysql),
    es: pidOfPort(Number(new URL(ES).port || 9200), commands.elasticsearch),
  };
  for (const [name, pid] of Object.entries(pids)) if (!pid) log(`warning: no local ${name} process found: its CPU counts as unknown`);

  const echo = spawn("bench/echo-server.ts", { PORT: "3900" });
  await up("http://127.0.0.1:3900/echo/1");
  /** The echo baseline under wrk, CPU of the echo server per request. */
  const echoWrk = async () => {
    const cpu = meter({ echo: echo.pid });
    const run = await wrk("http://127.0.0.1:3900/echo/", join(import.meta.dir, "echo.lua"), SECONDS);
    return { ...run, cpuPerRequest: perOp(sum(cpu.stop()), run.requests) };
  };
  const echoBase = CLUSTER === "only" ? await echoWrk() : await standalone(pids, echoWrk);

  // A cluster that fails (busy, unhealthy) still leaves the standalone rows printed and saved.
  let failed: unknown;
  if (CLUSTER) {
    await clusterScenarios({
      env,
      seconds: SECONDS,
      messages: N,
      log,
      spawn,
      stop,
      up,
      echo: echoBase,
      drain: (group, opts) => drain(group, opts),
      remaining: async (redis, group) => (await streamState(redis, group)).remaining,
      rawInsert: (rows) => rawInsert(rows, pids.mysql),
      rawBulk: (docs) => rawBulk(docs, pids.es),
      pids,
    }).catch((error) => {
      failed = error;
      log(`cluster scenarios failed: ${error instanceof Error ? error.message : error}`);
    });
  }
  await stop(echo);
  printTable();
  log(`results: ${writeResults({ messages: N, seconds: SECONDS, backlog: Number(process.env.BENCH_BACKLOG ?? 1_000_000), lagRate: Number(process.env.BENCH_LAG_RATE ?? 1000), cluster: CLUSTER ?? null, clusterError: failed ? String(failed) : undefined })}`);
  if (failed) throw failed;
}

/** Every standalone scenario (Redis db 3); returns the echo baseline's wrk figures for the cluster rows. */
async function standalone(pids: { redis?: number; mysql?: number; es?: number }, echoWrk: () => Promise<{ rps: number; p99: number; requests: number; cpuPerRequest: number }>) {
  const api = spawn("server/main.ts", { PORT: "3901" });
  await up("http://127.0.0.1:3901/healthz");
  const API = "http://127.0.0.1:3901/api/v1";
  const post = (path: string, body: unknown) => fetch(`${API}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
  const { token } = await post("/applications", { name: "bench" });
  for (let i = 0; i < 51; i++) await post(`/applications/${token}/chats`, { name: `chat ${i}` });

  // 1. create throughput, CPU per request and p99 under wrk, beside the echo baseline.
  log("create message: wrk, 64 connections");
  const cpu = meter({ api: api.pid, redis: pids.redis });
  const ours = await wrk(`${API}/applications/${token}/chats/`, join(import.meta.dir, "create-message.lua"), SECONDS);
  const used = cpu.stop();
  const base = await echoWrk();
  if (ours.non2xx) log(`warning: ${ours.non2xx} non-2xx responses`);
  const accepted = ours.requests - ours.non2xx;
  const cpuPerCreate = perOp(sum(used), accepted);
  addRow("create message (req/s, wrk -c64)", ours.rps, base.rps, "≥ 0.60", ours.rps / base.rps >= 0.6, "ratio");
  addRow("create CPU/req, API + Redis (µs)", cpuPerCreate, base.cpuPerRequest, "≤ 2.5", cpuPerCreate / base.cpuPerRequest <= 2.5, "µs", { cpuSeconds: used, accepted });
  addRow("create message p99 at full load (ms)", ours.p99, base.p99, "info", true, "ms");

  // 1b. The floor: a bare Elysia server making one script call (floor-server.ts), same load.
  const floor = spawn("bench/floor-server.ts", { PORT: "3905" });
  await up("http://127.0.0.1:3905/floor/1");
  const floorCpu = meter({ floor: floor.pid, redis: pids.redis });
  const floorRun = await wrk("http://127.0.0.1:3905/floor/", join(import.meta.dir, "echo.lua"), SECONDS);
  const floorUsed = floorCpu.stop();
  await stop(floor);
  const floorPerRequest = perOp(sum(floorUsed), floorRun.requests - floorRun.non2xx);
  addRow("create CPU/req vs the floor: Elysia + one script call (µs)", cpuPerCreate, floorPerRequest, "info", true, "µs", { floorCpuSeconds: floorUsed, floorRequests: floorRun.requests, floorRps: floorRun.rps });
  const floorKeys = new Redis(env.REDIS_URL!);
  await floorKeys.del("floor:{f}:stream", ...Array.from({ length: 50 }, (_, i) => `floor:{f}:chat:${i + 1}`));
  floorKeys.disconnect();

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

  // Drains: CPU per message of the worker and the sink's server, beside the raw client and the same server.
  log("draining everything queued into MySQL");
  const toMysql = await drain("mysql", { redis, sink: { mysql: pids.mysql }, redisPids: { redis: pids.redis } });
  const raw = await rawInsert(toMysql.events, pids.mysql);
  const mysqlCpu = perOp(sum(toMysql.used, ["worker", "mysql"]), toMysql.events);
  const rawMysqlCpu = perOp(sum(raw.used, ["client", "mysql"]), toMysql.events);
  addRow(`worker → MySQL (${toMysql.events} msgs/s)`, toMysql.rate, raw.rate, "≥ 0.70", toMysql.rate / raw.rate >= 0.7, "ratio");
  addRow("worker → MySQL CPU/msg, worker + MySQL (µs)", mysqlCpu, rawMysqlCpu, "≤ 1.5", mysqlCpu / rawMysqlCpu <= 1.5, "µs", { cpuSeconds: toMysql.used, baselineCpuSeconds: raw.used, events: toMysql.events });
  log(`draining ${toMysql.events} events into Elasticsearch`);
  const toEs = await drain("search", { redis, sink: { elasticsearch: pids.es }, redisPids: { redis: pids.redis } });
  const rawEs = await rawBulk(toEs.events, pids.es);
  const esCpu = perOp(sum(toEs.used, ["worker", "elasticsearch"]), toEs.events);
  const rawEsCpu = perOp(sum(rawEs.used, ["client", "elasticsearch"]), toEs.events);
  addRow(`worker → Elasticsearch (msgs/s)`, toEs.rate, rawEs.rate, "≥ 0.70", toEs.rate / rawEs.rate >= 0.7, "ratio");
  addRow("worker → Elasticsearch CPU/msg, worker + ES (µs)", esCpu, rawEsCpu, "≤ 1.25", esCpu / rawEsCpu <= 1.25, "µs", { cpuSeconds: toEs.used, baselineCpuSeconds: rawEs.used, events: toEs.events });
  redis.disconnect();
  await fetch(`${ES}/messages_bench/_refresh`, { method: "POST" });
  await storageFootprint({ databaseUrl: env.DATABASE_URL!, es: ES, index: "messages_bench" });

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
  return base;
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
async function rawInsert(rows: number, mysqlPid: number | undefined) {
  const conn = await mysql.createConnection({ uri: env.DATABASE_URL });
  await conn.query("CREATE TABLE bench_raw_messages LIKE messages");
  const now = new Date();
  const cpu = meter({ client: process.pid, mysql: mysqlPid });
  const started = performance.now();
  for (let i = 0; i < rows; i += 500) {
    const batch = Array.from({ length: Math.min(500, rows - i) }, (_, k) => [1, 51, i + k + 1, `raw message ${i + k} with a few words`, 1, null, now, now]);
    await conn.query("INSERT INTO bench_raw_messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ?", [batch]);
  }
  const rate = rows / ((performance.now() - started) / 1000);
  const used = cpu.stop();
  await conn.query("DROP TABLE bench_raw_messages");
  await conn.end();
  return { rate, used };
}

/** Baseline: raw _bulk of the same number of documents, 500 per request, into a scratch index. */
async function rawBulk(docs: number, esPid: number | undefined) {
  await fetch(`${ES}/bench_raw_bulk`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ settings: indexSettings("1s"), mappings: indexMappings }) });
  const cpu = meter({ client: process.pid, elasticsearch: esPid });
  const started = performance.now();
  for (let i = 0; i < docs; i += 500) {
    const lines: string[] = [];
    for (let k = i; k < Math.min(docs, i + 500); k++) {
      lines.push(JSON.stringify({ index: { _id: `1:51:${k}`, routing: "1:51", version: 1, version_type: "external" } }), JSON.stringify({ app: 1, chat: "1:51", number: k, body: `raw message ${k} with a few words`, created_at: Date.now() }));
    }
    await fetch(`${ES}/bench_raw_bulk/_bulk`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: lines.join("\n") + "\n" }).then((r) => r.arrayBuffer());
  }
  const rate = docs / ((performance.now() - started) / 1000);
  const used = cpu.stop();
  await fetch(`${ES}/bench_raw_bulk`, { method: "DELETE" });
  return { rate, used };
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
