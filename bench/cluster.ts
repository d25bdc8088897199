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
import type { Subprocess } from "bun";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { keysFor } from "../core/keys.ts";
import { clusterState, problemsOf } from "../scripts/redis-cluster/health.ts";
import { nodePid } from "../scripts/redis-cluster/nodes.ts";
import { redisCommands, type Reply } from "../scripts/redis-cluster/resp.ts";
import { meter, perOp, sum, type Pids } from "./cpu.ts";
import { closedLoop, constantRate, percentile, wrk } from "./load.ts";
import { addRow } from "./table.ts";

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

export type ClusterContext = {
  env: Record<string, string>;
  seconds: number;
  messages: number;
  log: (msg: string) => void;
  spawn: (entry: string, extra?: Record<string, string>) => Subprocess;
  stop: (proc: Subprocess) => Promise<void>;
  up: (url: string) => Promise<void>;
  /** The echo baseline of the same run: requests/s and CPU µs per request under the same wrk. */
  echo: { rps: number; cpuPerRequest: number };
  drain: (group: "mysql" | "search", opts: { redis: Cluster; env: Record<string, string>; sink: Pids; redisPids: Pids }) => Promise<{ rate: number; events: number; used: Record<string, number>; memory: number }>;
  /** Entries a consumer group has still to read or acknowledge, over every stream shard. */
  remaining: (redis: Cluster, group: string) => Promise<number>;
  rawInsert: (rows: number) => Promise<{ rate: number; used: Record<string, number> }>;
  rawBulk: (docs: number) => Promise<{ rate: number; used: Record<string, number> }>;
  pids: { mysql: number | undefined; es: number | undefined };
};

export async function clusterScenarios(ctx: ClusterContext) {
  const { log, spawn, stop, up, seconds } = ctx;
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
  const migrate = Bun.spawn(["bun", join(root, "scripts/migrate.ts")], { cwd: root, env: { ...ctx.env, ...cenv }, stdout: "ignore", stderr: "inherit" });
  if ((await migrate.exited) !== 0) throw new Error("migrate on the cluster failed");

  // Entries someone else left unconsumed (an interrupted test run) would be drained, and counted, too.
  const redis = new Cluster(CLUSTER_NODES.split(",").map((hp) => ({ host: hp.split(":")[0]!, port: Number(hp.split(":")[1]) })), { redisOptions: { protocol: 2 }, scaleReads: "master" });
  const leftover = { mysql: await ctx.remaining(redis, "mysql"), search: await ctx.remaining(redis, "search") };
  if (leftover.mysql || leftover.search) log(`warning: the cluster's streams already hold entries not yet consumed (mysql ${leftover.mysql}, search ${leftover.search}): the drains below include them`);
  try {
    const apiOff = spawn("server/main.ts", { ...cenv, PORT: "3903" });
    const apiOn = spawn("server/main.ts", { ...cenv, PORT: "3904", REDIS_WAIT_REPLICAS: "1" });
    await Promise.all([up("http://127.0.0.1:3903/healthz"), up("http://127.0.0.1:3904/healthz")]);
    const OFF = "http://127.0.0.1:3903/api/v1";
    const ON = "http://127.0.0.1:3904/api/v1";
    const post = (api: string, path: string, body: unknown) => fetch(`${api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const { token } = (await post(OFF, "/applications", { name: "bench cluster" }).then((r) => r.json())) as { token: string };
    for (let i = 0; i < 51; i++) await post(OFF, `/applications/${token}/chats`, { name: `chat ${i}` });
    const keys = keysFor(4);
    log(`cluster application ${token.slice(0, 6)}… on stream ${keys.streamOf(token)}`);

    // Create under wrk, WAIT off then on: CPU of the API and of every Redis node over the run.
    const script = join(import.meta.dir, "create-message.lua");
    const createRun = async (api: string, proc: Subprocess, label: string) => {
      log(`cluster create, ${label}: wrk, 64 connections`);
      const cpu = meter({ api: proc.pid, ...allRedis });
      const run = await wrk(`${api}/applications/${token}/chats/`, script, seconds);
      const used = cpu.stop();
      const accepted = run.requests - run.non2xx;
      if (run.non2xx) log(`warning: cluster create ${label}: ${run.non2xx} non-2xx responses of ${run.requests}`);
      if (run.socketErrors) log(`warning: cluster create ${label}: wrk socket errors: ${run.socketErrors}`);
      return { ...run, accepted, used };
    };
    const off = await createRun(OFF, apiOff, "WAIT off");
    const on = await createRun(ON, apiOn, "REDIS_WAIT_REPLICAS=1");
    const masterNames = Object.keys(masterPids);
    const cpuOff = perOp(sum(off.used, ["api", ...masterNames]), off.accepted);
    addRow("cluster: create message (req/s, wrk -c64)", off.rps, ctx.echo.rps, "≥ 0.60", off.rps / ctx.echo.rps >= 0.6, "ratio", { requests: off.requests, non2xx: off.non2xx });
    addRow(`cluster: create CPU/req, API + ${masters.length} masters (µs)`, cpuOff, ctx.echo.cpuPerRequest, "≤ 2.5", cpuOff / ctx.echo.cpuPerRequest <= 2.5, "µs", { cpuSeconds: off.used, accepted: off.accepted });

    // p99 at a constant rate both sides can carry: half the slower of the two.
    const rate = Math.round(Math.min(off.rps, on.rps) / 2);
    const body = JSON.stringify({ body: "constant rate message with a few words" });
    const atRate = async (api: string, label: string) => {
      log(`cluster create, ${label}: a constant ${rate}/s`);
      let failed = 0;
      const run = await constantRate(rate, Math.min(seconds, 8), (i) =>
        fetch(`${api}/applications/${token}/chats/${(i % 50) + 1}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
          (r) => (r.status >= 300 && failed++, r.arrayBuffer()),
          () => void failed++,
        ),
      );
      if (failed) log(`warning: cluster create ${label} at ${rate}/s: ${failed} failed or non-2xx`);
      return { p99: percentile(run.latencies, 99), achieved: run.achieved, failed };
    };
    const offRate = await atRate(OFF, "WAIT off");
    const onRate = await atRate(ON, "REDIS_WAIT_REPLICAS=1");
    addRow(`cluster: create p99 at ${Math.round(offRate.achieved)}/s (ms)`, offRate.p99, NaN, "≤ 5 ms", offRate.p99 <= 5, "ms", { failed: offRate.failed });

    // What WAIT costs: WAIT 1 (ours) beside WAIT off (baseline), every Redis node counted.
    const all = ["api", ...Object.keys(allRedis)];
    const who = `API + ${masters.length} masters + ${replicas.length} replicas`;
    addRow("cluster WAIT 1 vs off: create req/s (wrk -c64)", on.rps, off.rps, "info", true, "ratio", { requests: on.requests, non2xx: on.non2xx });
    addRow(`cluster WAIT 1 vs off: CPU/create, ${who} (µs)`, perOp(sum(on.used, all), on.accepted), perOp(sum(off.used, all), off.accepted), "info", true, "µs", {
      on: { cpuSeconds: on.used, accepted: on.accepted },
      off: { cpuSeconds: off.used, accepted: off.accepted },
    });
    addRow(`cluster WAIT 1 vs off: create p99 at ${rate}/s (ms)`, onRate.p99, offRate.p99, "info", true, "ms", { failedOn: onRate.failed, failedOff: offRate.failed });
    await Promise.all([stop(apiOff), stop(apiOn)]);

    // Drains: as standalone, one worker per sink drains everything queued (plus the N of chat 51).
    if (ctx.messages > 0) {
      const api = spawn("server/main.ts", { ...cenv, PORT: "3903" });
      await up("http://127.0.0.1:3903/healthz");
      log(`cluster: queueing ${ctx.messages} messages in one chat`);
      await closedLoop(ctx.messages, 64, (i) => post(OFF, `/applications/${token}/chats/51/messages`, { body: `cluster message ${i}` }).then((r) => r.arrayBuffer()));
      await stop(api);
    }
    const sinks = { mysql: { sink: { mysql: ctx.pids.mysql }, raw: ctx.rawInsert, name: "MySQL", short: "MySQL", target: 1.5 }, search: { sink: { elasticsearch: ctx.pids.es }, raw: ctx.rawBulk, name: "Elasticsearch", short: "ES", target: 1.25 } } as const;
    for (const group of ["mysql", "search"] as const) {
      const s = sinks[group];
      log(`cluster: draining into ${s.name}`);
      const drained = await ctx.drain(group, { redis, env: cenv, sink: s.sink, redisPids: masterPids });
      const raw = await s.raw(drained.events);
      const sinkName = Object.keys(s.sink)[0]!;
      const ours = perOp(sum(drained.used, ["worker", sinkName]), drained.events);
      const base = perOp(sum(raw.used, ["client", sinkName]), drained.events);
      const detail = { events: drained.events, leftoverBefore: leftover[group], cpuSeconds: drained.used, redisMastersPerEvent: perOp(sum(drained.used, masterNames), drained.events), workerRssMb: drained.memory, baselineCpuSeconds: raw.used };
      addRow(`cluster: worker → ${s.name} (${drained.events} msgs/s)`, drained.rate, raw.rate, "≥ 0.70", drained.rate / raw.rate >= 0.7, "ratio", detail);
      addRow(`cluster: worker → ${s.name} CPU/msg, worker + ${s.short} (µs)`, ours, base, `≤ ${s.target}`, ours / base <= s.target, "µs", detail);
      log(`cluster: ${s.name} drain: the ${masters.length} masters used ${detail.redisMastersPerEvent.toFixed(1)} µs CPU per event`);
      // The drained worker's consumer (nothing pending: the drain waited for that) leaves the shared groups.
      for (const stream of keys.streams()) await redis.xgroup("DELCONSUMER", stream, group, `bench-${group}`).catch(() => {});
    }

    // Only this application's own keys go; all of them share its hash tag (one slot, one DEL).
    const own = [keys.app(token), keys.pendingChats(token), keys.rateLimit(token)];
    for (let chat = 1; chat <= 51; chat++) own.push(keys.chat(token, chat), keys.pending(token, chat), keys.eventLog(token, chat), keys.watch(token, chat));
    const removed = await redis.del(...own);
    log(`cluster: removed ${removed} keys of the bench application`);
  } finally {
    redis.disconnect();
  }
}
