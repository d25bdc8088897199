/**
 * BENCH_CLUSTER=1: the create and drain scenarios again on the local Redis Cluster (SPEC §4.6;
 * `bun run services cluster`, 3 masters and 3 replicas on 127.0.0.1:7000–7005), and what
 * REDIS_WAIT_REPLICAS=1 costs on create beside WAIT off.
 *
 * The cluster is shared (the cluster tests run on it) and has no db numbers: the bench never flushes
 * it. It refuses to start while another client is connected (its worker would consume their stream
 * entries, and theirs ours), works under a fresh application, and at the end deletes that
 * application's own keys. The stream entries it wrote stay until a worker trims them (every worker
 * trims what all groups acknowledged). MySQL and Elasticsearch are the bench's own (chat_bench,
 * messages_bench).
 */
import { join } from "node:path";
import { Cluster } from "ioredis";
import { keysFor } from "../core/keys.ts";
import { createRedis } from "../core/redis/client.ts";
import { clusterState, problemsOf } from "../scripts/redis-cluster/health.ts";
import { nodePid } from "../scripts/redis-cluster/nodes.ts";
import { redisCommands, type Reply } from "../scripts/redis-cluster/resp.ts";
import { sum, perOp, type Pids } from "./cpu.ts";
import { meteredWrk, type WrkFigures } from "./create.ts";
import { clusterFloorRedis, drainEverything, drainRounds, messageBody, queueMessages } from "./drains.ts";
import { streamState } from "./streams.ts";
import { env, log, N, ROUNDS, SECONDS, spawn, stop, up } from "./harness.ts";
import { openLoop } from "./load.ts";
import { inRounds, median } from "./rounds.ts";
import { addRoundsRow, addRow } from "./table.ts";

export const CLUSTER_NODES = "127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002";
const SEEDS = [7000, 7001, 7002];
const root = join(import.meta.dir, "..");

type Node = { port: number; role: "master" | "replica"; pid: number | undefined };

/** The cluster's nodes as the first seed that answers sees them (roles change after a failover). */
async function clusterNodes(): Promise<Node[]> {
  for (const seed of SEEDS) {
    const [text] = await redisCommands(seed, [["CLUSTER", "NODES"]]).catch(() => [null as Reply]);
    if (typeof text !== "string") continue;
    const nodes = text
      .split("\n")
      .filter((l) => l.trim())
      .map((line) => line.split(" "))
      .filter(([, , flags]) => !/fail|handshake|noaddr/.test(flags ?? ""))
      .map(([, addr, flags]) => ({ port: Number(/:(\d+)@/.exec(addr ?? "")?.[1]), role: (flags ?? "").includes("master") ? ("master" as const) : ("replica" as const) }));
    return Promise.all(nodes.sort((a, b) => a.port - b.port).map(async (n) => ({ ...n, pid: await nodePid(n.port) })));
  }
  throw new Error(`no cluster seed answers (${CLUSTER_NODES})`);
}

/** Clients of the cluster other than replication links and this check's own connection. */
async function otherClients(nodes: Node[]): Promise<string[]> {
  const out: string[] = [];
  for (const { port } of nodes) {
    const replies = await redisCommands(port, [["CLIENT", "ID"], ["CLIENT", "LIST", "TYPE", "normal"], ["CLIENT", "LIST", "TYPE", "pubsub"]]);
    const own = String(replies[0]);
    for (const reply of replies.slice(1)) {
      if (typeof reply !== "string") continue;
      for (const line of reply.split("\n").filter((l) => l.trim())) {
        const f = Object.fromEntries(line.trim().split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
        if (f.id !== own) out.push(`${port}: ${f.addr} (${f.name ? `name ${f.name}, ` : ""}age ${f.age}s, last ${f.cmd})`);
      }
    }
  }
  return out;
}

/**
 * Starts the cluster with `bun run services cluster` when no node answers; waits for a cluster that
 * answers but is not healthy (a failover under way) rather than touching it; refuses to go on while
 * other clients use it.
 */
export async function prepareCluster(log: (msg: string) => void): Promise<Node[]> {
  let states = await clusterState();
  if (!states.some((s) => s.answers)) {
    log("redis cluster not running: bun run services cluster");
    // Its progress goes to stderr with ours: stdout carries only the table.
    const proc = Bun.spawn(["bun", join(root, "scripts/services.ts"), "cluster"], { cwd: root, stdout: 2, stderr: "inherit" });
    if ((await proc.exited) !== 0) throw new Error("bun run services cluster failed");
    states = await clusterState();
  }
  for (const deadline = Date.now() + 60_000; problemsOf(states).length; states = await clusterState()) {
    if (Date.now() > deadline) throw new Error(`the redis cluster answers but is not healthy, left as it is: ${problemsOf(states).slice(0, 5).join("; ")}`);
    await Bun.sleep(500);
  }
  const nodes = await clusterNodes();
  const others = await otherClients(nodes);
  if (others.length) {
    throw new Error(
      `BENCH_CLUSTER needs the redis cluster to itself (no flush, no db numbers there: the bench's worker would consume others' stream entries and theirs the bench's), but ${others.length} other client(s) are connected:\n  ${others.slice(0, 10).join("\n  ")}`,
    );
  }
  return nodes;
}

/**
 * The cluster scenarios: create under wrk with WAIT off and on beside the echo (BENCH_ROUNDS rounds,
 * rotated order), p99 at a constant rate, then the drains as standalone (drains.ts).
 */
export async function clusterScenarios(ctx: { echo: () => Promise<WrkFigures>; pids: { mysql: number | undefined; es: number | undefined } }) {
  const nodes = await prepareCluster(log);
  const masters = nodes.filter((n) => n.role === "master");
  const replicas = nodes.filter((n) => n.role === "replica");
  const named = (list: Node[], prefix: string): Pids => Object.fromEntries(list.map((n) => [`${prefix}${n.port}`, n.pid]));
  const masterPids = named(masters, "master:");
  const allRedis = { ...masterPids, ...named(replicas, "replica:") };
  const missing = nodes.filter((n) => !n.pid).map((n) => n.port);
  if (missing.length) log(`warning: no pid for redis node(s) ${missing.join(", ")}: their CPU counts as unknown`);
  log(`redis cluster: masters ${masters.map((n) => n.port).join(", ")}, replicas ${replicas.map((n) => n.port).join(", ")}`);

  const cenv = { REDIS_CLUSTER_NODES: CLUSTER_NODES };
  // Consumer groups on every stream shard of the cluster (migrate is idempotent; chat_bench is already there).
  const migrate = Bun.spawn(["bun", join(root, "scripts/migrate.ts")], { cwd: root, env: { ...env, ...cenv }, stdout: "ignore", stderr: "inherit" });
  if ((await migrate.exited) !== 0) throw new Error("migrate on the cluster failed");

  // Entries someone else left unconsumed (an interrupted test run) are drained too, before the measured rounds.
  const seeds = CLUSTER_NODES.split(",").map((hp) => ({ host: hp.split(":")[0]!, port: Number(hp.split(":")[1]) }));
  const redis = new Cluster(seeds, { redisOptions: { protocol: 2 }, scaleReads: "master" });
  const queuer = createRedis({ redisUrl: "", redisClusterNodes: seeds }, { enableOfflineQueue: true });
  const leftover = { mysql: (await streamState(redis, "mysql", undefined, true)).remaining, search: (await streamState(redis, "search", undefined, true)).remaining };
  if (leftover.mysql || leftover.search) log(`warning: the cluster's streams already hold entries not yet consumed (mysql ${leftover.mysql}, search ${leftover.search}): drained, unmeasured, before the drain rounds`);
  const chats = 50 + ROUNDS;
  try {
    const apiOff = spawn("server/main.ts", { ...cenv, PORT: "3903" });
    const apiOn = spawn("server/main.ts", { ...cenv, PORT: "3904", REDIS_WAIT_REPLICAS: "1" });
    await Promise.all([up("http://127.0.0.1:3903/healthz"), up("http://127.0.0.1:3904/healthz")]);
    const OFF = "http://127.0.0.1:3903/api/v1";
    const ON = "http://127.0.0.1:3904/api/v1";
    const post = (api: string, path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const { token } = (await post(OFF, "/applications", { name: "bench cluster" }).then((r) => r.json())) as { token: string };
    // Chats 1–50 take the wrk creates; 51, 52… one drain round each.
    for (let i = 0; i < chats; i++) await post(OFF, `/applications/${token}/chats`, { name: `chat ${i}` });
    const keys = keysFor(4);
    log(`cluster application ${token.slice(0, 6)}… on stream ${keys.streamOf(token)}`);

    // Create under wrk, WAIT off and on, beside the echo: CPU of the API and of every Redis node over each run.
    const script = join(import.meta.dir, "create-message.lua");
    const runs = await inRounds(
      ROUNDS,
      {
        off: () => meteredWrk(`${OFF}/applications/${token}/chats/`, script, { api: apiOff.pid, ...allRedis }, "cluster create, WAIT off"),
        on: () => meteredWrk(`${ON}/applications/${token}/chats/`, script, { api: apiOn.pid, ...allRedis }, "cluster create, REDIS_WAIT_REPLICAS=1"),
        echo: ctx.echo,
      },
      (round, order) => log(`cluster create round ${round + 1}/${ROUNDS}: wrk, 64 connections, ${SECONDS}s each: ${order.join(", ")}`),
    );
    const cpuOf = (list: WrkFigures[], names: string[]) => list.map((r) => perOp(sum(r.used, names), r.requests - r.non2xx));
    const masterNames = Object.keys(masterPids);
    const all = ["api", ...Object.keys(allRedis)];
    const rps = (list: WrkFigures[]) => list.map((r) => r.rps);
    const requests = (list: WrkFigures[]) => ({ requests: list.map((r) => r.requests), non2xx: list.map((r) => r.non2xx) });
    addRoundsRow({ scenario: "cluster: create message (req/s, wrk -c64)", ours: rps(runs.off), baseline: rps(runs.echo), baselineName: "echo", target: "≥ 0.50", pass: (a, b) => a / b >= 0.5, unit: "ratio", detail: requests(runs.off) });
    addRoundsRow({ scenario: `cluster: create CPU/req, API + ${masters.length} masters (µs)`, ours: cpuOf(runs.off, ["api", ...masterNames]), baseline: runs.echo.map((r) => r.cpuPerRequest), baselineName: "echo", target: "≤ 2.5", pass: (a, b) => a / b <= 2.5, unit: "µs", detail: { cpuSeconds: runs.off.map((r) => r.used) } });

    // p99 at a constant rate both sides can carry: half the slower of the two medians.
    const rate = Math.round(Math.min(median(rps(runs.off)), median(rps(runs.on))) / 2);
    const body = JSON.stringify({ body: "constant rate message with a few words" });
    const atRate = async (api: string, label: string) => {
      log(`cluster create, ${label}: a constant ${rate}/s`);
      const run = await openLoop(`${api}/applications/${token}/chats/`, "/messages", rate, Math.min(SECONDS, 8), body, log);
      const failed = run.non2xx + run.failed;
      if (failed) log(`warning: cluster create ${label} at ${rate}/s: ${failed} failed or non-2xx`);
      return { p99: run.p99, achieved: run.achieved, failed };
    };
    const offRate = await atRate(OFF, "WAIT off");
    const onRate = await atRate(ON, "REDIS_WAIT_REPLICAS=1");
    addRow(`cluster: create p99 at ${Math.round(offRate.achieved)}/s (ms)`, offRate.p99, NaN, "≤ 5 ms", offRate.p99 <= 5, "ms", { failed: offRate.failed });

    // What WAIT costs: WAIT 1 (ours) beside WAIT off (baseline), every Redis node counted.
    const who = `API + ${masters.length} masters + ${replicas.length} replicas`;
    addRoundsRow({ scenario: "cluster WAIT 1 vs off: create req/s (wrk -c64)", ours: rps(runs.on), baseline: rps(runs.off), baselineName: "WAIT off", target: "info", pass: () => true, unit: "ratio", detail: { on: requests(runs.on), off: requests(runs.off) } });
    addRoundsRow({ scenario: `cluster WAIT 1 vs off: CPU/create, ${who} (µs)`, ours: cpuOf(runs.on, all), baseline: cpuOf(runs.off, all), baselineName: "WAIT off", target: "info", pass: () => true, unit: "µs", detail: { on: runs.on.map((r) => r.used), off: runs.off.map((r) => r.used) } });
    addRow(`cluster WAIT 1 vs off: create p99 at ${rate}/s (ms)`, onRate.p99, offRate.p99, "info", true, "ms", { failedOn: onRate.failed, failedOff: offRate.failed });
    await Promise.all([stop(apiOff), stop(apiOn)]);

    // Drains, as standalone: first (unmeasured) everything the creates above queued, then the rounds.
    // Redis CPU counts the replicas too: each applies every write its master makes, on the same cores.
    // The complete floor runs beside them on the master that serves its keys (a replica applies its
    // writes too), so that what the cluster itself costs shows outside our code as well.
    const warm = await drainEverything(redis, cenv);
    let drains = { memory: 0 };
    if (N > 0) {
      const floor = await clusterFloorRedis(redis, (port) => nodes.find((n) => n.port === port)?.pid);
      try {
        drains = await drainRounds({ label: "cluster: ", rounds: ROUNDS, messages: N, redis, workerEnv: cenv, redisPids: allRedis, pids: ctx.pids, queue: (round) => queueMessages(queuer, token, 51 + round, N, messageBody), detail: { leftoverBefore: leftover }, floor });
      } finally {
        floor.client.disconnect();
      }
    }
    const workers = { firstDrainBothSinks: warm.memory, drainRounds: drains.memory };
    addRow("cluster: worker RSS (MB, max of every worker run)", Math.max(...Object.values(workers)), NaN, "≤ 200 MB", Math.max(...Object.values(workers)) <= 200, "MB", { rssMb: workers });
    // The drain workers' consumers (nothing pending: the drains waited for that) leave the shared groups.
    for (const stream of keys.streams()) {
      for (const group of ["mysql", "search"]) for (const consumer of [`bench-${group}`, "bench-both"]) await redis.xgroup("DELCONSUMER", stream, group, consumer).catch(() => {});
    }

    // Only this application's own keys go; all of them share its hash tag (one slot, one DEL).
    const own = [keys.app(token), keys.pendingChats(token), keys.rateLimit(token)];
    for (let chat = 1; chat <= chats; chat++) own.push(keys.chat(token, chat), keys.pending(token, chat), keys.eventLog(token, chat), keys.watch(token, chat));
    const removed = await redis.del(...own);
    log(`cluster: removed ${removed} keys of the bench application`);
  } finally {
    redis.disconnect();
    queuer.disconnect();
  }
}
