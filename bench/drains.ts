/**
 * The worker scenarios (SPEC §8): one worker per sink draining a fixed number of queued messages into
 * MySQL and into Elasticsearch, beside a raw mysql2 multi-row INSERT and a raw `_bulk` of as many
 * rows, in BENCH_ROUNDS rounds. Each round queues BENCH_MESSAGES messages in a chat of its own
 * (round r: chat 50 + r) through the create script, pipelined (what the API calls, without HTTP),
 * then runs each sink's pair back to back, alternating which goes first.
 */
import Redis from "ioredis";
import type { Cluster } from "ioredis";
import mysql from "mysql2/promise";
import { keysFor } from "../core/keys.ts";
import { execAll, type RedisClient } from "../core/redis/client.ts";
import { contracts, scriptsFor } from "../core/redis/scripts.ts";
import { indexMappings, indexSettings } from "../core/search/index.ts";
import { meter, perOp, sum, untilQuiet, type Pids } from "./cpu.ts";
import { ES, env, log, rss, spawn, spawnReady, stop } from "./harness.ts";
import { rotated, warmUpCount } from "./rounds.ts";
import { streamState, untilAcknowledged, acknowledged, waitDrained } from "./streams.ts";
import { addRoundsRow } from "./table.ts";

/** The bodies of the drained (and later searched) messages: words the search scenario queries. */
const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];
export const messageBody = (i: number) => `${words[i % 12]} ${words[(i * 7) % 12]} message ${i} zulu${i % 1000}`;

/** Queues `count` creates in one chat by calling the create script the API calls, 2,000 per pipeline. */
export async function queueMessages(redis: RedisClient, token: string, chat: number, count: number, bodyOf: (i: number) => string) {
  const scripts = scriptsFor(redis, keysFor(4), { ratePerMinute: 0, logLength: 1000, logTtlMs: 3_600_000, idempotencyTtlSeconds: 86_400 });
  for (let sent = 0; sent < count; ) {
    const pipeline = redis.pipeline();
    const size = Math.min(2000, count - sent);
    for (let i = 0; i < size; i++) scripts.queue(pipeline, "createMessage", { token, chat, body: bodyOf(sent + i) });
    const refused = (await execAll(pipeline)).map(contracts.createMessage.reply).find((reply) => reply.status !== "OK");
    if (refused) throw new Error(`queueing failed: ${refused.status}`);
    sent += size;
  }
}

type DrainOptions = { redis: Redis | Cluster; env?: Record<string, string>; sink: Pids; redisPids: Pids };

/** Entries per read of the worker (WORKER_BATCH_SIZE's default) and of the floor, rows per raw statement ×4. */
const BATCH = 2000;
/** The floor's stream (its group: "floor"), passed to it: it fills and drains it. */
const FLOOR_STREAM = "mysqlfloor:{f}:stream";

/**
 * One worker with one sink drains everything its group has left; CPU of the worker and of `sink` and
 * `redisPids`, and the time, over the part of the drain after its warm-up: from the moment the
 * group has acknowledged the first fifth (warmUpCount: the worker started, modules loaded, and its
 * code compiled by the JIT on those batches, as a long-running worker's is) to the drained stream.
 * The raw baselines are measured the same way, after their own first fifth.
 */
export async function drain(group: "mysql" | "search", opts: DrainOptions) {
  const events = (await streamState(opts.redis, group, undefined, true)).remaining;
  const streams = keysFor(4).streams();
  const before = await acknowledged(opts.redis, streams, group);
  const warm = before === undefined ? 0 : warmUpCount(events, BATCH);
  const worker = await spawnReady("worker/main.ts", { ...opts.env, WORKER_SINKS: group, WORKER_NAME: `bench-${group}`, LOG_LEVEL: "info" }, "\"worker started\"");
  // The whole drain too (warm-up included), for the JSON's detail.
  const whole = meter({ worker: worker.pid, ...opts.sink });
  const wholeStarted = performance.now();
  const warmed = warm ? (await untilAcknowledged(opts.redis, streams, group, before! + warm)) - before! : 0;
  const started = performance.now();
  const cpu = meter({ worker: worker.pid, ...opts.sink, ...opts.redisPids });
  await waitDrained(opts.redis, [group]);
  const seconds = (performance.now() - started) / 1000;
  const used = cpu.stop();
  const wholeDrain = { seconds: (performance.now() - wholeStarted) / 1000, used: whole.stop(), events };
  const memory = rss(worker);
  await stop(worker);
  const measured = events - warmed;
  return { rate: measured / seconds, events, measured, memory, used, wholeDrain };
}

/** Unmeasured: one worker with both sinks drains whatever earlier scenarios queued, so that each round drains exactly its own messages. */
export async function drainEverything(redis: Redis | Cluster, workerEnv: Record<string, string> = {}) {
  const before = await Promise.all(["mysql", "search"].map(async (g) => (await streamState(redis, g)).remaining));
  log(`draining what the earlier scenarios queued (mysql ${before[0]}, search ${before[1]}), not measured`);
  const worker = spawn("worker/main.ts", { ...workerEnv, WORKER_NAME: "bench-both" });
  await waitDrained(redis, ["mysql", "search"]);
  const memory = rss(worker);
  await stop(worker);
  return { memory, before: { mysql: before[0]!, search: before[1]! } };
}

/** Baseline: mysql2 multi-row INSERTs of `rows` rows, 500 per statement, one connection, into a scratch table. */
export async function rawInsert(rows: number, mysqlPid: number | undefined) {
  const conn = await mysql.createConnection({ uri: env.DATABASE_URL });
  await conn.query("CREATE TABLE bench_raw_messages LIKE messages");
  const now = new Date();
  const warm = warmUpCount(rows, BATCH);
  let cpu = meter({});
  let started = 0;
  for (let i = 0; i < rows; i += 500) {
    if (i === warm) {
      cpu = meter({ client: process.pid, mysql: mysqlPid });
      started = performance.now();
    }
    const batch = Array.from({ length: Math.min(500, rows - i) }, (_, k) => [1, 51, i + k + 1, messageBody(i + k), 1, null, now, now]);
    await conn.query("INSERT INTO bench_raw_messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ?", [batch]);
  }
  const measured = rows - warm;
  const rate = measured / ((performance.now() - started) / 1000);
  const used = cpu.stop();
  await conn.query("DROP TABLE bench_raw_messages");
  await conn.end();
  return { rate, used, measured };
}

/** Where the complete floor's stream and overlay live: one Redis (its URL, a client, the pids whose CPU is its Redis CPU). */
export type FloorRedis = { url: string; client: Redis | Cluster; pids: Pids };

/**
 * The complete MySQL floor (mysql-floor.ts), outside the worker's code: its own stream and overlay
 * of `rows` creates, filled before it says "floor ready", drained with the same per-batch work
 * SPEC §4 asks of the worker's MySQL sink; (its CPU + MySQL's + Redis') after its warm-up, as the
 * worker's (drain above), until it says "floor drained". `redis`: the one Redis it uses (on a
 * cluster, the master that serves its keys' slot, whose replica is counted as Redis too).
 */
export async function completeFloorDrain(rows: number, redis: FloorRedis, mysqlPid: number | undefined) {
  const floor = await spawnReady("bench/mysql-floor.ts", { FLOOR_MESSAGES: String(rows), FLOOR_STREAM, REDIS_URL: redis.url }, '"floor ready"', 120_000);
  const warm = warmUpCount(rows, BATCH);
  const whole = meter({ floor: floor.pid, mysql: mysqlPid });
  const wholeStarted = performance.now();
  const warmed = warm ? await untilAcknowledged(redis.client, [FLOOR_STREAM], "floor", warm) : 0;
  const started = performance.now();
  const cpu = meter({ floor: floor.pid, mysql: mysqlPid, ...redis.pids });
  await floor.untilLine('"floor drained"', 600_000);
  const seconds = (performance.now() - started) / 1000;
  const used = cpu.stop();
  const wholeDrain = { seconds: (performance.now() - wholeStarted) / 1000, used: whole.stop(), events: rows };
  await stop(floor);
  const measured = rows - warmed;
  return { rate: measured / seconds, used, measured, wholeDrain };
}

/**
 * A cluster's master for the complete floor's keys, as a FloorRedis: the node serving their slot,
 * and the pids of it and its replicas (`pidOf` a port), as they all work for its writes.
 */
export async function clusterFloorRedis(cluster: Cluster, pidOf: (port: number) => number | undefined): Promise<FloorRedis> {
  const slot = Number(await cluster.cluster("KEYSLOT", FLOOR_STREAM));
  // CLUSTER SLOTS: [from, to, master [host, port, …], replica …] per range.
  const ranges = (await cluster.cluster("SLOTS")) as unknown as [number, number, ...[string, number][]][];
  const range = ranges.find(([from, to]) => from <= slot && slot <= to);
  if (!range) throw new Error(`no cluster node serves slot ${slot}`);
  const [master, ...replicas] = range.slice(2) as [string, number][];
  const url = `redis://${master![0]}:${master![1]}`;
  const pids: Pids = { [`master:${master![1]}`]: pidOf(master![1]) };
  for (const [, port] of replicas) pids[`replica:${port}`] = pidOf(port);
  return { url, client: new Redis(url), pids };
}

/** Baseline: raw _bulk of `docs` documents, 500 per request, into a scratch index. */
export async function rawBulk(docs: number, esPid: number | undefined) {
  await fetch(`${ES}/bench_raw_bulk`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ settings: indexSettings("1s"), mappings: indexMappings }) });
  const warm = warmUpCount(docs, BATCH);
  let cpu = meter({});
  let started = 0;
  for (let i = 0; i < docs; i += 500) {
    if (i === warm) {
      cpu = meter({ client: process.pid, elasticsearch: esPid });
      started = performance.now();
    }
    const lines: string[] = [];
    for (let k = i; k < Math.min(docs, i + 500); k++) {
      lines.push(JSON.stringify({ index: { _id: `1:51:${k}`, routing: "1:51", version: 1, version_type: "external" } }), JSON.stringify({ app: 1, chat: "1:51", number: k, body: messageBody(k), created_at: Date.now() }));
    }
    await fetch(`${ES}/bench_raw_bulk/_bulk`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: lines.join("\n") + "\n" }).then((r) => r.arrayBuffer());
  }
  const measured = docs - warm;
  const rate = measured / ((performance.now() - started) / 1000);
  const used = cpu.stop();
  await fetch(`${ES}/bench_raw_bulk`, { method: "DELETE" });
  return { rate, used, measured };
}

const sinks = {
  mysql: { name: "MySQL", short: "MySQL", server: "mysql", rateTarget: 0.7, cpuTarget: 1.5, baselineName: "raw INSERT", raw: rawInsert },
  search: { name: "Elasticsearch", short: "ES", server: "elasticsearch", rateTarget: 0.8, cpuTarget: 1.25, baselineName: "raw _bulk", raw: rawBulk },
} as const;

/**
 * The drain rows, `rounds` times: `queue(round)` queues `messages` creates, then for each sink its
 * drain and its raw baseline back to back (ours first in even rounds). Rows are prefixed `label`.
 * Returns the largest worker RSS seen (MB).
 */
export async function drainRounds(o: { label: string; rounds: number; messages: number; redis: Redis | Cluster; workerEnv?: Record<string, string>; redisPids: Pids; pids: { mysql?: number; es?: number }; queue: (round: number) => Promise<void>; detail?: Record<string, unknown>; floor?: FloorRedis }) {
  // `measured`: the messages after the warm-up (warmUpCount), over which rate and CPU are taken.
  type Round = { rate: number; cpu: number; redisCpu: number; used: Record<string, number>; events: number; measured: number; wholeDrain: unknown };
  const ours = { mysql: [] as Round[], search: [] as Round[] };
  type Baseline = { rate: number; cpu: number; used: Record<string, number>; measured: number };
  const raw = { mysql: [] as Baseline[], search: [] as Baseline[] };
  const floor: (Baseline & { redisCpu: number; wholeDrain: unknown })[] = [];
  let memory = 0;
  for (let round = 0; round < o.rounds; round++) {
    log(`${o.label}drain round ${round + 1}/${o.rounds}: queueing ${o.messages} messages`);
    await o.queue(round);
    for (const group of ["mysql", "search"] as const) {
      const s = sinks[group];
      const serverPid = group === "mysql" ? o.pids.mysql : o.pids.es;
      const runOurs = async () => {
        const d = await drain(group, { redis: o.redis, env: o.workerEnv, sink: { [s.server]: serverPid }, redisPids: o.redisPids });
        if (d.events !== o.messages) log(`warning: ${o.label}${s.name} drain round ${round + 1} moved ${d.events} entries, not ${o.messages}`);
        memory = Math.max(memory, d.memory);
        ours[group].push({ rate: d.rate, cpu: perOp(sum(d.used, ["worker", s.server]), d.measured), redisCpu: perOp(sum(d.used, Object.keys(o.redisPids)), d.measured), used: d.used, events: d.events, measured: d.measured, wholeDrain: d.wholeDrain });
      };
      const runRaw = async () => {
        const r = await s.raw(o.messages, serverPid);
        raw[group].push({ rate: r.rate, cpu: perOp(sum(r.used, ["client", s.server]), r.measured), used: r.used, measured: r.measured });
      };
      const runFloor = async () => {
        const f = await completeFloorDrain(o.messages, o.floor!, serverPid);
        floor.push({ rate: f.rate, cpu: perOp(sum(f.used, ["floor", "mysql"]), f.measured), redisCpu: perOp(sum(f.used, Object.keys(o.floor!.pids)), f.measured), used: f.used, measured: f.measured, wholeDrain: f.wholeDrain });
      };
      const sides = group === "mysql" && o.floor ? [runOurs, runRaw, runFloor] : [runOurs, runRaw];
      // Each side after a quiet second: the side before it leaves MariaDB purging a dropped table or
      // Elasticsearch merging, which would otherwise be counted as this side's server CPU.
      for (const run of rotated(sides, round)) {
        await untilQuiet(log, 0.15, 20_000);
        await run();
      }
    }
  }
  for (const group of ["mysql", "search"] as const) {
    const s = sinks[group];
    const detail = { messagesPerRound: o.messages, measuredPerRound: { ours: ours[group].map((r) => r.measured), baseline: raw[group].map((r) => r.measured) }, wholeDrain: ours[group].map((r) => r.wholeDrain), cpuSeconds: ours[group].map((r) => r.used), baselineCpuSeconds: raw[group].map((r) => r.used), redisCpuPerEvent: ours[group].map((r) => r.redisCpu), ...o.detail };
    addRoundsRow({ scenario: `${o.label}worker → ${s.name} (msgs/s)`, ours: ours[group].map((r) => r.rate), baseline: raw[group].map((r) => r.rate), baselineName: s.baselineName, target: `≥ ${s.rateTarget.toFixed(2)}`, pass: (a, b) => a / b >= s.rateTarget, unit: "ratio", detail });
    addRoundsRow({ scenario: `${o.label}worker → ${s.name} CPU/msg, worker + ${s.short} (µs)`, ours: ours[group].map((r) => r.cpu), baseline: raw[group].map((r) => r.cpu), baselineName: s.baselineName, target: `≤ ${s.cpuTarget}`, pass: (a, b) => a / b <= s.cpuTarget, unit: "µs", detail });
    if (group === "mysql" && floor.length) {
      const floorDetail = { messagesPerRound: o.messages, wholeDrain: { ours: ours.mysql.map((r) => r.wholeDrain), floor: floor.map((r) => r.wholeDrain) }, cpuSeconds: ours.mysql.map((r) => r.used), floorCpuSeconds: floor.map((r) => r.used), redisCpuPerEvent: { ours: ours.mysql.map((r) => r.redisCpu), floor: floor.map((r) => r.redisCpu) } };
      const info = { target: "info", pass: () => true, detail: floorDetail };
      addRoundsRow({ scenario: `${o.label}worker → MySQL vs the complete floor: all SPEC §4 asks of the drain (msgs/s)`, ours: ours.mysql.map((r) => r.rate), baseline: floor.map((r) => r.rate), baselineName: "complete floor", unit: "ratio", ...info });
      addRoundsRow({ scenario: `${o.label}worker → MySQL CPU/msg vs the complete floor, each + MySQL (µs)`, ours: ours.mysql.map((r) => r.cpu), baseline: floor.map((r) => r.cpu), baselineName: "complete floor", unit: "µs", ...info });
      addRoundsRow({ scenario: `${o.label}MySQL drain: the complete floor vs raw INSERT (msgs/s)`, ours: floor.map((r) => r.rate), baseline: raw.mysql.map((r) => r.rate), baselineName: "raw INSERT", unit: "ratio", ...info });
      addRoundsRow({ scenario: `${o.label}MySQL drain CPU/msg: the complete floor vs raw INSERT, each + MySQL (µs)`, ours: floor.map((r) => r.cpu), baseline: raw.mysql.map((r) => r.cpu), baselineName: "raw INSERT", unit: "µs", ...info });
    }
  }
  return { memory };
}
