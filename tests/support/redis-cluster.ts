/**
 * A Redis Cluster of a test's own (3 masters, 3 replicas, AOF everysec as `bun run services cluster`
 * runs them) on free ports with data folders of its own, so a test can kill, pause and restart its
 * nodes without disturbing the shared services. A short node timeout keeps failovers to seconds.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fields, redisCommands, ReplyError, type Reply } from "../../scripts/redis-cluster/resp.ts";
import { listening } from "../../scripts/redis-cluster/nodes.ts";
import { eventually } from "./http.ts";

export type ClusterNode = { id: string; port: number; master: boolean; failed: boolean; masterId: string | null; slots: string[] };

export type OwnCluster = {
  /** REDIS_CLUSTER_NODES for the processes under test. */
  seeds: string;
  ports: number[];
  /** One command on one node; a Redis error is thrown. */
  command(port: number, ...args: (string | number)[]): Promise<Reply>;
  nodes(fromPort?: number): Promise<ClusterNode[]>;
  /** The master serving `key` now, and its replica. */
  ownerOf(key: string): Promise<{ master: number; replica: number }>;
  pid(port: number): Promise<number>;
  kill(port: number): Promise<void>;
  /** Starts a stopped node again on its port and data folder; resolves when it answers PING. */
  start(port: number): Promise<void>;
  /** Starts every node that is not running, then waits until the cluster is healthy. */
  restore(): Promise<void>;
  /** Every node answers, cluster_state is ok everywhere, every master has a replica in sync. */
  healthy(timeoutMs?: number): Promise<void>;
  remove(): void;
};

const HOST = "127.0.0.1";

/**
 * Six ports whose cluster bus ports (+10000) are free too, both below the ephemeral range (from
 * 32768), where an outgoing connection could take one between our check and the node's bind.
 */
async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 21_000 + Math.floor(Math.random() * 1_700);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const taken = await Promise.all(ports.flatMap((p) => [listening(p), listening(p + 10_000)]));
    if (!taken.some(Boolean)) return ports;
  }
  throw new Error("no six free ports (with their bus ports) found");
}

function nodeArgs(port: number, dir: string): string[] {
  return [
    "redis-server", "--port", String(port), "--bind", HOST, "--dir", dir, "--daemonize", "no",
    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
    // The test's lagging replica must still take over (by default a replica cut off for long refuses).
    "--cluster-replica-validity-factor", "0",
    "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
    "--repl-diskless-sync-delay", "0", "--logfile", join(dir, "redis.log"),
  ];
}

export async function ownCluster(): Promise<OwnCluster> {
  const ports = await freePorts(6);
  const root = mkdtempSync(join(tmpdir(), "chat-cluster-"));
  const procs = new Map<number, ReturnType<typeof Bun.spawn>>();
  // Whatever happens to the test run, its nodes do not outlive it.
  process.on("exit", () => {
    for (const proc of procs.values()) proc.kill("SIGKILL");
  });

  async function command(port: number, ...args: (string | number)[]): Promise<Reply> {
    const [reply] = await redisCommands(port, [args.map(String)], 3000);
    if (reply instanceof ReplyError) throw reply;
    return reply!;
  }

  async function start(port: number): Promise<void> {
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    const proc = Bun.spawn(nodeArgs(port, dir), { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    procs.set(port, proc);
    const deadline = Date.now() + 20_000;
    while ((await command(port, "PING").catch(() => undefined)) !== "PONG") {
      if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${proc.exitCode}\n${logs()}`);
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING within 20 s\n${logs()}`);
      await Bun.sleep(50);
    }
  }

  /** The last lines of every node's log, for a failure message. */
  function logs(): string {
    return ports.map((port) => {
      const file = join(root, String(port), "redis.log");
      const tail = existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-6).join("\n    ") : "(no log)";
      return `${port} (${procs.get(port)?.exitCode === null ? "running" : `exited ${procs.get(port)?.exitCode}`}):\n    ${tail}`;
    }).join("\n");
  }

  async function nodes(fromPort = ports[0]!): Promise<ClusterNode[]> {
    const text = String(await command(fromPort, "CLUSTER", "NODES"));
    return text.trim().split("\n").map((line) => {
      const [id, addr, flags, master, , , , , ...slots] = line.trim().split(" ");
      const flagList = flags!.split(",");
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(addr!)?.[1]),
        master: flagList.includes("master"),
        failed: flagList.includes("fail") || flagList.includes("fail?"),
        masterId: master === "-" ? null : master!,
        slots,
      };
    });
  }

  /** A node that answers, seen from a node that answers. */
  async function anyLivePort(): Promise<number> {
    for (const port of ports) if (procs.get(port)?.exitCode === null && (await command(port, "PING").catch(() => "")) === "PONG") return port;
    throw new Error("no node of the test cluster answers");
  }

  const self: OwnCluster = {
    seeds: ports.map((p) => `${HOST}:${p}`).join(","),
    ports,
    command,
    nodes,
    async ownerOf(key) {
      const from = await anyLivePort();
      const slot = Number(await command(from, "CLUSTER", "KEYSLOT", key));
      const all = await nodes(from);
      const owner = all.find((n) => n.master && !n.failed && n.slots.some((range) => {
        const [lo, hi] = range.split("-").map(Number);
        return slot >= lo! && slot <= (hi ?? lo)!;
      }));
      const replica = all.find((n) => owner && n.masterId === owner.id && !n.failed);
      if (!owner || !replica) throw new Error(`slot ${slot}: no live master with a live replica in ${JSON.stringify(all)}`);
      return { master: owner.port, replica: replica.port };
    },
    async pid(port) {
      return Number(fields(await command(port, "INFO", "server")).process_id);
    },
    async kill(port) {
      const proc = procs.get(port);
      proc?.kill("SIGKILL");
      await proc?.exited;
    },
    start,
    async restore() {
      for (const port of ports) if (procs.get(port)?.exitCode !== null) await start(port);
      await self.healthy();
    },
    async healthy(timeoutMs = 60_000) {
      await eventually<true>(async () => {
        for (const port of ports) {
          const info = fields(await command(port, "CLUSTER", "INFO"));
          if (info.cluster_state !== "ok" || Number(info.cluster_known_nodes) !== 6) return undefined;
        }
        const all = await nodes(await anyLivePort());
        const masters = all.filter((n) => n.master && !n.failed && n.slots.length);
        if (masters.length !== 3 || all.some((n) => n.failed)) return undefined;
        for (const master of masters) {
          const replication = fields(await command(master.port, "INFO", "replication"));
          if (!/state=online/.test(replication.slave0 ?? "")) return undefined;
        }
        return true;
      }, timeoutMs, "the test cluster: 6 nodes, cluster_state ok, 3 masters each with an online replica").catch((error: Error) => {
        throw new Error(`${error.message}\n${logs()}`);
      });
    },
    remove() {
      for (const proc of procs.values()) proc.kill("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(ports.map(start));
    const create = Bun.spawn(["redis-cli", "--cluster", "create", ...ports.map((p) => `${HOST}:${p}`), "--cluster-replicas", "1", "--cluster-yes"], { stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(create.stdout).text(), new Response(create.stderr).text(), create.exited]);
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}: ${out}${err}`);
    await self.healthy();
  } catch (error) {
    self.remove();
    throw error;
  }
  return self;
}
