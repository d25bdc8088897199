/**
 * `bun bench/growth.ts`: how cost grows with stored data (SPEC §8 "Growth"). One application, 1,000
 * chats, filled cumulatively to each of GROWTH_LEVELS stored messages (default 10000,100000,1000000),
 * spread evenly over the chats. At each level: create CPU per message under wrk, list page p99 and
 * search p95 on one chat of level/1000 messages (and the same search sent to Elasticsearch directly),
 * and bytes per message in MySQL, Elasticsearch and Redis. Own database (chat_growth), Redis db 4 and
 * index (messages_growth), reset at start. Needs the services (`bun run services`) and wrk.
 *
 * The fill goes through the real write path, fast: the create script the API calls, pipelined (as
 * backlog.ts does), then one worker (both sinks) drains it into MySQL and Elasticsearch. The writes a
 * measured wrk run accepts are dropped before any worker reads them (growth/streams.ts dropQueued): a
 * 5-second run accepts ~90,000 creates, which would otherwise pass the next level by themselves.
 */
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { keysFor } from "../core/keys.ts";
import { createRedis, execAll } from "../core/redis/client.ts";
import { contracts, scriptsFor } from "../core/redis/scripts.ts";
import { buildQuery } from "../server/features/search/query.ts";
import { commands, meter, perOp, pidOfPort, sum } from "./cpu.ts";
import { closedLoop, ensureWrk, percentile, wrk } from "./load.ts";
import { storageBytes } from "./storage.ts";
import { waitDrained } from "./streams.ts";
import { dropQueued, streamLength } from "./growth/streams.ts";
import { keysBytes, machine, markdown, printTable, usedMemory, writeJson, type GrowthRow } from "./growth/report.ts";

const root = join(import.meta.dir, "..");
const LEVELS = (process.env.GROWTH_LEVELS ?? "10000,100000,1000000").split(",").map((s) => Number(s.trim()));
const SECONDS = Number(process.env.GROWTH_SECONDS ?? 5);
const CHATS = 1000;
/** bench/create-message.lua posts round-robin to chats 1..50; list and search run on the last chat, which it never touches. */
const WRK_CHATS = 50;
const MEASURED = CHATS;
const DATABASE = "chat_growth";
const INDEX = "messages_growth";
const PORT = 3941;
const env = {
  ...process.env,
  DATABASE_URL: `mysql://chat:chat@127.0.0.1:3306/${DATABASE}`,
  DATABASE_READ_URL: "",
  REDIS_URL: "redis://127.0.0.1:6379/4",
  // Nothing of the caller's shell leaks in: no cluster, no WAIT, default layout, no rate limit.
  REDIS_CLUSTER_NODES: "",
  REDIS_WAIT_REPLICAS: "",
  STREAM_SHARDS: "4",
  ELASTICSEARCH_URL: process.env.ELASTICSEARCH_URL ?? "http://127.0.0.1:9200",
  SEARCH_INDEX: INDEX,
  SEARCH_REFRESH_INTERVAL: "1s",
  SEARCH_SHARDS: "",
  SEARCH_REPLICAS: "",
  RATE_LIMIT_PER_MINUTE: "",
  WORKER_SINKS: "",
  LOG_LEVEL: "warn",
} as Record<string, string>;
const ES = env.ELASTICSEARCH_URL!;
const API = `http://127.0.0.1:${PORT}/api/v1`;
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
/** Message k of chat c; every query below matches within a chat's first ten messages. */
const bodyOf = (c: number, k: number) => `${WORDS[k % 12]} ${WORDS[(k + 1) % 12]} ${WORDS[(k + 5) % 12]} ${WORDS[(k * 7) % 12]} message number ${k} of chat ${c}`;
const QUERIES = ["golf", "harl", "bravo charlie", "otel", "delta echo", "lima", "ravo", "india juliet"];

const log = (msg: string) => process.stderr.write(`[growth] ${msg}\n`);
const children = new Set<Subprocess>();
const cleanup = () => children.forEach((c) => c.kill("SIGKILL"));
process.on("exit", cleanup);
process.on("SIGINT", () => (cleanup(), process.exit(130)));

function spawn(entry: string, extra: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", join(root, entry)], { cwd: root, env: { ...env, ...extra }, stdout: "ignore", stderr: "inherit" });
  children.add(proc);
  return proc;
}

async function stop(proc: Subprocess) {
  proc.kill("SIGTERM");
  await proc.exited;
  children.delete(proc);
}

async function up(url: string) {
  for (let i = 0; i < 200; i++) {
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await Bun.sleep(50);
  }
  throw new Error(`${url} did not come up`);
}

async function request(path: string, init?: RequestInit & { json?: unknown }) {
  const response = await fetch(`${API}${path}`, init?.json === undefined ? init : { ...init, method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(init.json) });
  if (!response.ok) throw new Error(`${init?.method ?? "GET"} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as any;
}

/** As run.ts reset(): a fresh database granted to chat, an empty Redis db, no index; then migrate. */
async function reset() {
  const socket = join(root, ".services/mariadb/mysqld.sock");
  const admin = existsSync(socket) ? await mysql.createConnection({ socketPath: socket, user: "root" }) : await mysql.createConnection({ uri: "mysql://chat:chat@127.0.0.1:3306/" });
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
  await admin.query(`CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  if (existsSync(socket)) for (const host of ["%", "localhost"]) await admin.query(`GRANT ALL ON ${DATABASE}.* TO 'chat'@'${host}'`);
  await admin.end();
  const redis = createRedis({ redisUrl: env.REDIS_URL!, redisClusterNodes: null }, { enableOfflineQueue: true });
  await redis.flushdb();
  redis.disconnect();
  const aliased = (await fetch(`${ES}/_alias/${INDEX}`).then((r) => (r.ok ? r.json() : {}), () => ({}))) as Record<string, unknown>;
  for (const index of new Set([...Object.keys(aliased), `${INDEX}_v1`])) await fetch(`${ES}/${index}`, { method: "DELETE" });
  const migrate = Bun.spawn(["bun", join(root, "scripts/migrate.ts")], { cwd: root, env, stdout: "ignore", stderr: "inherit" });
  if ((await migrate.exited) !== 0) throw new Error("migrate failed");
}

async function main() {
  await ensureWrk(console.log);
  if (!LEVELS.length || LEVELS.some((l, i) => !Number.isInteger(l) || l < CHATS || (i > 0 && l <= LEVELS[i - 1]!))) {
    throw new Error(`GROWTH_LEVELS must be ascending integers of at least ${CHATS}, got "${process.env.GROWTH_LEVELS}"`);
  }
  if (!(SECONDS > 0)) throw new Error(`GROWTH_SECONDS must be a positive number, got "${process.env.GROWTH_SECONDS}"`);
  if (!Bun.which("wrk")) throw new Error("wrk is needed: apt-get install wrk");
  if (!(await fetch(`${ES}/_cluster/health`).then((r) => r.ok, () => false))) throw new Error("Elasticsearch is not answering: run `bun run services` first");
  log(`resetting ${DATABASE}, redis db 4, index ${INDEX} (levels: ${LEVELS.join(", ")}; wrk seconds: ${SECONDS})`);
  await reset();

  const redis = createRedis({ redisUrl: env.REDIS_URL!, redisClusterNodes: null }, { enableOfflineQueue: true });
  const keys = keysFor(4);
  const scripts = scriptsFor(redis, keys, { ratePerMinute: 0, logLength: 1000, logTtlMs: 3_600_000, idempotencyTtlSeconds: 86_400 });
  const memoryAtReset = await usedMemory(redis);
  const redisPid = pidOfPort(Number(new URL(env.REDIS_URL!).port || 6379), commands.redis);
  if (!redisPid) log("warning: no local redis-server found on the port: create CPU counts as unknown");
  const db = await mysql.createConnection({ uri: env.DATABASE_URL });

  const api = spawn("server/main.ts", { PORT: String(PORT) });
  await up(`http://127.0.0.1:${PORT}/healthz`);
  const { token } = await request("/applications", { json: { name: "growth" } });
  await closedLoop(CHATS, 16, (i) => request(`/applications/${token}/chats`, { json: { name: `chat ${i}` } }));
  const [[app]] = (await db.query("SELECT id FROM applications WHERE token = ?", [token])) as unknown as [{ id: number }[]];
  const chatKey = `${app!.id}:${MEASURED}`;
  log(`application ${app!.id} with ${CHATS} chats`);

  const queued = new Array<number>(CHATS + 1).fill(0);
  const rows: GrowthRow[] = [];
  for (const level of LEVELS) {
    // 1. Fill: every chat up to its share of the level, round-robin (the writes interleave as real traffic would).
    const target = (c: number) => Math.floor(level / CHATS) + (c <= level % CHATS ? 1 : 0);
    const total = Array.from({ length: CHATS }, (_, i) => Math.max(0, target(i + 1) - queued[i + 1]!)).reduce((a, b) => a + b, 0);
    log(`level ${level.toLocaleString("en-US")}: queueing ${total.toLocaleString("en-US")} messages through the create script`);
    let started = performance.now();
    let pipeline = redis.pipeline();
    let inPipeline = 0;
    const flush = async () => {
      const refused = (await execAll(pipeline)).map(contracts.createMessage.reply).find((reply) => reply.status !== "OK");
      if (refused) throw new Error(`queueing failed: ${refused.status}`);
      (pipeline = redis.pipeline()), (inPipeline = 0);
    };
    for (let round = 1; round <= target(1); round++) {
      for (let c = 1; c <= CHATS; c++) {
        if (queued[c]! >= target(c) || queued[c]! >= round) continue;
        scripts.queue(pipeline, "createMessage", { token, chat: c, body: bodyOf(c, ++queued[c]!) });
        if (++inPipeline === 2000) await flush();
      }
    }
    if (inPipeline) await flush();
    const queueSeconds = (performance.now() - started) / 1000;

    // 2. One worker, both sinks, drains it all; it trims what both groups acknowledged before it stops.
    started = performance.now();
    const worker = spawn("worker/main.ts", { WORKER_NAME: `growth-${process.pid}`, WORKER_TRIM_INTERVAL_MS: "1000" });
    await waitDrained(redis, ["mysql", "search"], { keys, stallMs: 120_000, progress: log });
    const drainSeconds = (performance.now() - started) / 1000;
    for (let i = 0; i < 50 && (await streamLength(redis, keys)) > keys.shards; i++) await Bun.sleep(200);
    await stop(worker);
    log(`  queued in ${queueSeconds.toFixed(1)} s, drained in ${drainSeconds.toFixed(1)} s`);

    // 3. Bytes per message: MySQL after ANALYZE TABLE, the index's primary segments after a refresh and a
    // flush, Redis's used_memory against its value right after reset (everything persisted by now).
    const storage = await storageBytes({ databaseUrl: env.DATABASE_URL!, es: ES, index: INDEX });
    if (storage.docs !== storage.rows) log(`warning: ${storage.rows} rows in MySQL but ${storage.docs} documents in Elasticsearch`);
    const redisUsed = (await usedMemory(redis)) - memoryAtReset;
    const redisKeys = await keysBytes(redis);
    const [[counted]] = (await db.query("SELECT COUNT(*) AS n FROM messages WHERE application_id = ? AND chat_number = ?", [app!.id, MEASURED])) as unknown as [{ n: number }[]];
    const chatMessages = Number(counted!.n);

    // 4. List: newest page of 25 on the measured chat, closed loop, 16 concurrent (after a warm-up).
    const messages = `/applications/${token}/chats/${MEASURED}/messages`;
    const page = await request(`${messages}?limit=25&order=desc`);
    if (page.data.length !== Math.min(25, chatMessages)) throw new Error(`list answered ${page.data.length} messages, expected ${Math.min(25, chatMessages)}`);
    const list = () => fetch(`${API}${messages}?limit=25&order=desc`).then((r) => r.arrayBuffer());
    await closedLoop(500, 16, list);
    const listLat = await closedLoop(3000, 16, list);

    // 5. Search on the same chat through the API, and the same query sent to Elasticsearch directly.
    const unmatched: string[] = [];
    for (const q of QUERIES) if (!(await request(`${messages}/search?q=${encodeURIComponent(q)}`)).data.length) unmatched.push(q);
    if (unmatched.length) log(`  warning: no hits for ${unmatched.map((q) => `"${q}"`).join(", ")} (the chat holds ${chatMessages} messages)`);
    const viaApi = (i: number) => fetch(`${API}${messages}/search?q=${encodeURIComponent(QUERIES[i % QUERIES.length]!)}`).then((r) => r.arrayBuffer());
    const direct = (i: number) =>
      fetch(`${ES}/${INDEX}/_search?routing=${encodeURIComponent(chatKey)}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ size: 26, query: buildQuery(QUERIES[i % QUERIES.length]!, chatKey), sort: [{ _score: "desc" }, { number: "desc" }], track_total_hits: false }),
      }).then((r) => r.arrayBuffer());
    await closedLoop(80, 4, viaApi);
    await closedLoop(80, 4, direct);
    const searchLat = await closedLoop(400, 4, viaApi);
    const esLat = await closedLoop(400, 4, direct);

    // 6. Create CPU: (API + Redis) over a wrk run on 50 chats, no worker running; its writes are then dropped.
    log(`  create: wrk ${SECONDS} s, 2 threads, 64 connections, chats 1..${WRK_CHATS}`);
    const cpu = meter({ api: api.pid, redis: redisPid });
    const run = await wrk(`${API}/applications/${token}/chats/`, join(import.meta.dir, "create-message.lua"), SECONDS);
    const used = cpu.stop();
    const accepted = run.requests - run.non2xx;
    if (run.non2xx || run.socketErrors) log(`  warning: ${run.non2xx} non-2xx answers${run.socketErrors ? `, socket errors: ${run.socketErrors}` : ""}`);
    await dropQueued(redis, keys, Array.from({ length: WRK_CHATS }, (_, i) => keys.pending(token, i + 1)));

    rows.push({
      level,
      stored: storage.rows,
      chatMessages,
      createCpuUs: perOp(sum(used), accepted),
      listP99Ms: percentile(listLat, 99),
      searchP95Ms: percentile(searchLat, 95),
      esDirectP95Ms: percentile(esLat, 95),
      mysqlBytes: (storage.mysqlDataBytes + storage.mysqlIndexBytes) / storage.rows,
      esBytes: storage.esStoreBytes / storage.docs,
      redisBytes: redisUsed / storage.rows,
      detail: {
        create: { cpuSeconds: used, accepted, rps: run.rps, p99Ms: run.p99, non2xx: run.non2xx },
        list: { requests: listLat.length, p50Ms: percentile(listLat, 50) },
        search: { requests: searchLat.length, queries: QUERIES, unmatched, p50Ms: percentile(searchLat, 50), esDirectP50Ms: percentile(esLat, 50) },
        storage,
        redis: { usedMemoryDelta: redisUsed, keys: redisKeys.keys, keysBytes: redisKeys.bytes, keysBytesPerMessage: redisKeys.bytes / storage.rows },
        fill: { queued: total, queueSeconds, drainSeconds },
      },
    });
    log(`  done: create ${rows.at(-1)!.createCpuUs.toFixed(1)} µs/msg, list p99 ${rows.at(-1)!.listP99Ms.toFixed(2)} ms, search p95 ${rows.at(-1)!.searchP95Ms.toFixed(2)} ms`);
  }
  await stop(api);
  await db.end();
  redis.disconnect();

  const finished = new Date();
  printTable(rows);
  log(`results: ${writeJson({ levels: LEVELS, seconds: SECONDS, chats: CHATS, measuredChat: MEASURED }, rows, finished)}`);
  console.log(`\nFor bench/README.md:\n\n${markdown(rows, machine(), SECONDS, finished)}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`[growth] failed: ${error instanceof Error ? error.stack : error}`);
    cleanup();
    process.exit(1);
  },
);
