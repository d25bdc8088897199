/**
 * `bun run services cluster [start|stop]`: a local Redis Cluster of 3 masters and 3 replicas on
 * 127.0.0.1:7000–7005 from Debian's redis-server (SPEC §7; point processes at it with
 * REDIS_CLUSTER_NODES=127.0.0.1:7000). AOF everysec like the standalone Redis; each node runs from
 * .services/redis-cluster/<port>/ (nodes.conf, appendonlydir/, redis.pid, redis.log).
 *
 * start is idempotent:
 * - the six nodes answer and form a healthy cluster → "already running" (a few ms);
 * - every node folder holds a nodes.conf from an earlier run → the nodes that are down are started
 *   again and the cluster is waited for (data kept; `--cluster create` would refuse non-empty nodes);
 * - nothing there → the nodes are started and joined with `redis-cli --cluster create`;
 * - anything else (some folders only, nodes that do not form a cluster in time) → what was found is
 *   printed, our nodes are stopped, the folder is wiped and the cluster created anew.
 * It returns once every node says cluster_state:ok with all 16384 slots, 3 masters each with an
 * online replica, and no node is flagged failing. Every wait polls its condition against a deadline.
 *
 * stop stops the six nodes (pid file, SIGTERM, SIGKILL after a deadline) and keeps their data.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { CLUSTER_HOST, CLUSTER_PORTS, SLOTS, CREATE_CMD_MS, CREATE_OK_MS, RESTART_OK_MS, clusterDir, nodesConfOf, range, show, type ClusterOptions } from "./redis-cluster/layout.ts";
import { clusterState, problemsOf, type NodeState } from "./redis-cluster/health.ts";
import { PortTaken, nodePid, nodeUp, portsFree, startNode, stopNode, until, withLock } from "./redis-cluster/nodes.ts";

export { CLUSTER_HOST, CLUSTER_PORTS, clusterDir, logFileOf, nodeDir, pidFileOf, type ClusterOptions } from "./redis-cluster/layout.ts";
export { clusterHealthy } from "./redis-cluster/health.ts";
export { alive } from "./redis-cluster/nodes.ts";

async function binaries(options: ClusterOptions): Promise<{ server: string; cli: string }> {
  const missing = [...(!options.which("redis-server") ? ["redis-server"] : []), ...(!options.which("redis-cli") ? ["redis-tools"] : [])];
  if (missing.length) await options.install(missing);
  const server = options.which("redis-server");
  const cli = options.which("redis-cli");
  if (!server || !cli) throw new Error("redis-server/redis-cli still missing after installing them");
  return { server, cli };
}

/** Waits until the cluster is healthy; `hopeless` ends the wait early with its reason. */
async function healthy(what: string, timeoutMs: number, hopeless?: (states: NodeState[]) => string | undefined): Promise<void> {
  let last: NodeState[] = [];
  await until(
    what,
    async () => {
      last = await clusterState();
      if (!problemsOf(last).length) return true;
      const reason = hopeless?.(last);
      if (reason) throw new Error(`${what}: ${reason}`);
      return undefined;
    },
    timeoutMs,
    () => `${problemsOf(last).slice(0, 8).join("; ")}\n  logs: ${show(clusterDir)}/<port>/redis.log`,
  );
}

async function stopAll(): Promise<string[]> {
  const results = await Promise.all(CLUSTER_PORTS.map(async (port) => [port, await stopNode(port)] as const));
  return results.filter(([, r]) => r).map(([port, r]) => `${port} ${r}`);
}

async function create(bins: { server: string; cli: string }, log: (msg: string) => void): Promise<void> {
  await stopAll();
  await portsFree(CLUSTER_PORTS);
  rmSync(clusterDir, { recursive: true, force: true });
  mkdirSync(clusterDir, { recursive: true });
  await Promise.all(CLUSTER_PORTS.map((port) => startNode(bins.server, port)));
  await Promise.all(CLUSTER_PORTS.map(nodeUp));
  log(`redis cluster: nodes up, joining them with redis-cli --cluster create`);
  const proc = Bun.spawn(
    [bins.cli, "--cluster", "create", ...CLUSTER_PORTS.map((p) => `${CLUSTER_HOST}:${p}`), "--cluster-replicas", "1", "--cluster-yes"],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  const output = Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]).then(([o, e]) => `${o}${e}`);
  const timer = setTimeout(() => proc.kill("SIGKILL"), CREATE_CMD_MS);
  const code = await proc.exited;
  clearTimeout(timer);
  const text = await output;
  if (code !== 0 || !text.includes(`All ${SLOTS} slots covered`)) {
    const tail = text.trimEnd().split("\n").slice(-15).join("\n    ");
    throw new Error(`redis-cli --cluster create failed (exit ${code}${proc.signalCode ? `, ${proc.signalCode} after ${CREATE_CMD_MS / 1000}s` : ""}):\n    ${tail}\n  logs: ${show(clusterDir)}/<port>/redis.log`);
  }
  await healthy("waiting for the new cluster to be ok with every replica in sync", CREATE_OK_MS);
}

export async function ensureRedisCluster(options: ClusterOptions): Promise<string> {
  const { log } = options;
  const t0 = Date.now();
  const took = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
  if (!problemsOf(await clusterState()).length) return `already running on ${range}`;

  return withLock(log, async () => {
    // Another run may have brought it up while we waited for the lock.
    const states = await clusterState();
    if (!problemsOf(states).length) return `already running on ${range}`;
    const bins = await binaries(options);

    // Anything answering on our ports that is not one of our nodes is left alone, and we stop here.
    const owners = await Promise.all(CLUSTER_PORTS.map(async (port, i) => ({ port, answers: states[i]!.answers, pid: await nodePid(port) })));
    const foreign = owners.filter((o) => o.answers && !o.pid).map((o) => o.port);
    if (foreign.length) {
      const what = states.filter((s) => foreign.includes(s.port)).map((s) => s.problems[0]);
      throw new Error(`${foreign.map((p) => `${CLUSTER_HOST}:${p}`).join(", ")} answer(s) but are not nodes of ${show(clusterDir)}, and the cluster is not healthy (${what.join("; ")}). Free ports ${range} and their bus ports (+10000), or stop that cluster.`);
    }

    const withConf = CLUSTER_PORTS.filter((p) => existsSync(nodesConfOf(p)) && statSync(nodesConfOf(p)).size > 0);
    const running = owners.filter((o) => o.pid).map((o) => o.port);
    const anything = existsSync(clusterDir) || running.length > 0;

    if (withConf.length === CLUSTER_PORTS.length) {
      const down = CLUSTER_PORTS.filter((p) => !running.includes(p));
      log(`redis cluster: found nodes.conf of all 6 nodes; ${down.length ? `starting ${down.join(", ")}` : "all running"}, waiting for the cluster`);
      try {
        await portsFree(down);
        await Promise.all(down.map((port) => startNode(bins.server, port)));
        await Promise.all(down.map(nodeUp));
        await healthy("waiting for the restarted cluster", RESTART_OK_MS, (s) => {
          // A node that knows only itself never joined the others (a create that did not happen).
          const alone = s.filter((n) => n.answers && !n.loading && n.knownNodes === 1).map((n) => n.port);
          return alone.length ? `${alone.join(", ")} know(s) no other node` : undefined;
        });
        return `restarted on ${range} (${took()})`;
      } catch (error) {
        if (error instanceof PortTaken) throw error;
        log(`redis cluster: the nodes did not form a healthy cluster again: ${(error as Error).message}`);
        log(`redis cluster: rebuilding from scratch (its data is lost)`);
      }
    } else if (anything) {
      const parts = [
        `nodes.conf of ${withConf.length ? withConf.join(", ") : "no node"}`,
        ...(running.length ? [`running: ${running.join(", ")}`] : []),
      ];
      log(`redis cluster: found a partial cluster in ${show(clusterDir)} (${parts.join("; ")}); rebuilding from scratch`);
    }
    await create(bins, log);
    return `created on ${range}: 3 masters, 3 replicas (${took()})`;
  });
}

export async function stopRedisCluster(options: Pick<ClusterOptions, "log">): Promise<string> {
  return withLock(options.log, async () => {
    const stopped = await stopAll();
    return stopped.length ? `stopped (${stopped.join(", ")}); data kept in ${show(clusterDir)}` : "not running";
  });
}

