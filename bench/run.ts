/**
 * `bun run bench`: the SPEC §8 scenarios, each beside a baseline measured in the same run, printed as
 * one table, written as JSON and drawn as an SVG chart under bench/results/. Uses its own database
 * (chat_bench), Redis db (3) and index (messages_bench), reset at start. Needs the services
 * (`bun run services`) and wrk. Sizes: BENCH_MESSAGES (default 100000), BENCH_SECONDS (default 10),
 * BENCH_ROUNDS (default 3: the create and drain scenarios, median and range). BENCH_CLUSTER=1 runs
 * the create and drain scenarios on the local Redis Cluster too (cluster.ts); BENCH_CLUSTER=only runs
 * just those (and the echo baseline they are compared with). BENCH_SCENARIOS=reads runs the read rows only.
 */
import { join } from "node:path";
import Redis from "ioredis";
import { createRedis } from "../core/redis/client.ts";
import { ensureWrk } from "./load.ts";
import { backlogScenario } from "./backlog.ts";
import { clusterScenarios, prepareCluster } from "./cluster.ts";
import { commands, pidOfPort } from "./cpu.ts";
import { createHalfRate, createScenarios, echoWrk } from "./create.ts";
import { recreateDatabase } from "./database.ts";
import { drainEverything, drainRounds, messageBody, queueMessages } from "./drains.ts";
import { CLUSTER, cleanup, env, ES, LAG_RATE, log, N, READS_ONLY, root, ROUNDS, rss, SECONDS, spawn, stop, up } from "./harness.ts";
import { applicationId, liveScenario, readScenarios, searchableLag } from "./reads.ts";
import { storageFootprint } from "./storage.ts";
import { webhookScenarios } from "./webhooks.ts";
import { addRow, printTable, writeResults } from "./table.ts";

type Pids = { redis: number | undefined; mysql: number | undefined; es: number | undefined };

async function reset() {
  await recreateDatabase({ checkout: root, databaseUrl: env.DATABASE_URL!, adminUrl: process.env.BENCH_DATABASE_ADMIN_URL || undefined, log });
  const redis = new Redis(env.REDIS_URL!);
  await redis.flushdb();
  redis.disconnect();
  for (const index of ["messages_bench_v1", "bench_raw_bulk"]) await fetch(`${ES}/${index}`, { method: "DELETE" });
  const migrate = Bun.spawn(["bun", join(root, "scripts/migrate.ts")], { env, stdout: "ignore", stderr: "inherit" });
  if ((await migrate.exited) !== 0) throw new Error("migrate failed");
}

async function main() {
  await ensureWrk(log);
  if (!(await fetch(`${ES}/_cluster/health`).then((r) => r.ok, () => false))) throw new Error("Elasticsearch is not answering: run `bun run services` first");
  // Before anything long: the cluster is up, healthy and nobody else's (cluster.ts).
  if (CLUSTER && !READS_ONLY) await prepareCluster(log);
  log(`resetting chat_bench, redis db 3, index messages_bench (messages: ${N}, wrk seconds: ${SECONDS}, rounds: ${ROUNDS}${CLUSTER ? `, cluster: ${CLUSTER}` : ""})`);
  await reset();
  const pids: Pids = {
    redis: pidOfPort(Number(new URL(env.REDIS_URL!).port || 6379), commands.redis),
    mysql: pidOfPort(Number(new URL(env.DATABASE_URL!).port || 3306), commands.mysql),
    es: pidOfPort(Number(new URL(ES).port || 9200), commands.elasticsearch),
  };
  for (const [name, pid] of Object.entries(pids)) if (!pid) log(`warning: no local ${name} process found: its CPU counts as unknown`);

  const echo = spawn("bench/echo-server.ts", { PORT: "3900" });
  await up("http://127.0.0.1:3900/echo/1");
  if (READS_ONLY) await readsOnly();
  else if (CLUSTER !== "only") await standalone(pids, echo);

  // A cluster that fails (busy, unhealthy) still leaves the standalone rows printed and saved.
  let failed: unknown;
  if (CLUSTER && !READS_ONLY) {
    await clusterScenarios({ echo: () => echoWrk(echo), pids }).catch((error) => {
      failed = error;
      log(`cluster scenarios failed: ${error instanceof Error ? error.message : error}`);
    });
  }
  await stop(echo);
  printTable(ROUNDS);
  const files = writeResults({ messages: N, seconds: SECONDS, rounds: ROUNDS, backlog: Number(process.env.BENCH_BACKLOG ?? 1_000_000), lagRate: LAG_RATE, cluster: CLUSTER ?? null, clusterError: failed ? String(failed) : undefined });
  log(`results: ${files.json}`);
  log(`chart: ${files.svg}`);
  if (failed) throw failed;
}

/** Every standalone scenario (Redis db 3). */
async function standalone(pids: Pids, echo: ReturnType<typeof spawn>) {
  const api = spawn("server/main.ts", { PORT: "3901" });
  await up("http://127.0.0.1:3901/healthz");
  const API = "http://127.0.0.1:3901/api/v1";
  const post = (path: string, body: unknown) => fetch(`${API}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
  const { token } = await post("/applications", { name: "bench" });
  // Chats 1–50 take the creates; 51 is the drained, searched and read chat (round 1), 52… the other drain rounds.
  for (let i = 0; i < 50 + ROUNDS; i++) await post(`/applications/${token}/chats`, { name: `chat ${i}` });

  // 1. create: req/s, CPU per request, p99, beside the echo and the floor.
  const { medianRps } = await createScenarios({ api, API, token, echo, redisPid: pids.redis });
  const apiMemory = rss(api);

  // 2. drains: what the creates queued first (unmeasured); then p99 at half rate (create.ts says
  // why after the drain); then BENCH_MESSAGES per drain round.
  const redis = new Redis(env.REDIS_URL!);
  const warm = await drainEverything(redis);
  await createHalfRate({ API, token, medianRps, pids: { api: api.pid, redis: pids.redis } });
  await drainEverything(redis);
  const queuer = createRedis({ redisUrl: env.REDIS_URL!, redisClusterNodes: null }, { enableOfflineQueue: true });
  const drains = await drainRounds({ label: "", rounds: ROUNDS, messages: N, redis, redisPids: { redis: pids.redis }, pids, queue: (round) => queueMessages(queuer, token, 51 + round, N, messageBody), floor: { url: env.REDIS_URL!, client: redis, pids: { redis: pids.redis } } });
  await webhookScenarios({ post, redis, queuer, redisPids: { redis: pids.redis }, count: Math.min(N, 20_000) });
  queuer.disconnect();
  redis.disconnect();
  await fetch(`${ES}/messages_bench/_refresh`, { method: "POST" });
  await storageFootprint({ databaseUrl: env.DATABASE_URL!, es: ES, index: "messages_bench" });

  // 3. reads on chat 51 (N messages, persisted), live events, accepted → searchable with both sinks running.
  await readScenarios({ API, token, appId: await applicationId(token), chat: 51, messages: N });
  await liveScenario({ token, post });
  const worker = spawn("worker/main.ts", { WORKER_NAME: "bench-both" });
  await searchableLag({ API, token, post });
  // Every worker the bench ran: the first drain (both sinks, everything the creates queued), the rounds' (one sink each), this one.
  const workers = { firstDrainBothSinks: warm.memory, drainRounds: drains.memory, underSteadyLoad: rss(worker) };
  const workerMemory = Math.max(...Object.values(workers));
  addRow("API RSS after load (MB)", apiMemory, NaN, "≤ 150 MB", apiMemory <= 150, "MB");
  addRow("worker RSS (MB, max of every worker run)", workerMemory, NaN, "≤ 200 MB", workerMemory <= 200, "MB", { rssMb: workers });
  await stop(worker);

  // 4. reads beside a backlog of pending writes (no worker runs from here on).
  const backlogChat = (await post(`/applications/${token}/chats`, { name: "backlog" })).number as number;
  await backlogScenario({ redisUrl: env.REDIS_URL!, api: API, token, idle: 51, busy: backlogChat, log });
  await stop(api);
}

/**
 * BENCH_SCENARIOS=reads: only the read rows (search, get / list, reads beside a backlog), on the same
 * data as the full run: chat 51 holds BENCH_MESSAGES messages, queued through the create script and
 * drained by one worker with both sinks (unmeasured), as the full run's first drain round leaves it.
 */
async function readsOnly() {
  const api = spawn("server/main.ts", { PORT: "3901" });
  await up("http://127.0.0.1:3901/healthz");
  const API = "http://127.0.0.1:3901/api/v1";
  const post = (path: string, body: unknown) => fetch(`${API}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
  const { token } = await post("/applications", { name: "bench" });
  for (let i = 0; i < 51; i++) await post(`/applications/${token}/chats`, { name: `chat ${i}` });
  const redis = new Redis(env.REDIS_URL!);
  const queuer = createRedis({ redisUrl: env.REDIS_URL!, redisClusterNodes: null }, { enableOfflineQueue: true });
  log(`queueing ${N} messages in chat 51`);
  await queueMessages(queuer, token, 51, N, messageBody);
  queuer.disconnect();
  await drainEverything(redis);
  redis.disconnect();
  await fetch(`${ES}/messages_bench/_refresh`, { method: "POST" });
  await readScenarios({ API, token, appId: await applicationId(token), chat: 51, messages: N });
  const backlogChat = (await post(`/applications/${token}/chats`, { name: "backlog" })).number as number;
  await backlogScenario({ redisUrl: env.REDIS_URL!, api: API, token, idle: 51, busy: backlogChat, log });
  await stop(api);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`[bench] failed: ${error instanceof Error ? error.stack : error}`);
    cleanup();
    process.exit(1);
  },
);
