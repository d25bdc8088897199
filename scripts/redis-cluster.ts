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
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, relative } from "node:path";

export const CLUSTER_HOST = "127.0.0.1";
export const CLUSTER_PORTS: readonly number[] = [7000, 7001, 7002, 7003, 7004, 7005];
const SLOTS = 16384;
const MASTERS = 3;

const root = join(import.meta.dir, "..");
export const clusterDir = join(root, ".services", "redis-cluster");
const lockFile = join(root, ".services", "redis-cluster.lock");
export const nodeDir = (port: number) => join(clusterDir, String(port));
export const pidFileOf = (port: number) => join(nodeDir(port), "redis.pid");
export const logFileOf = (port: number) => join(nodeDir(port), "redis.log");
const nodesConfOf = (port: number) => join(nodeDir(port), "nodes.conf");
const show = (path: string) => relative(process.cwd(), path) || path;
const range = `${CLUSTER_HOST}:${CLUSTER_PORTS[0]}–${CLUSTER_PORTS[CLUSTER_PORTS.length - 1]}`;

/** Deadlines (ms). */
const NODE_UP_MS = 20_000; // a started node answers PING
const RESTART_OK_MS = 30_000; // restarted nodes are a healthy cluster again, else rebuild
const CREATE_OK_MS = 60_000; // a created cluster is healthy (replicas synced)
const CREATE_CMD_MS = 60_000; // redis-cli --cluster create returns
const STOP_TERM_MS = 20_000; // SIGTERM → gone, then SIGKILL
const LOCK_MS = 180_000; // another `services cluster` run finishes
const POLL_MS = 50;

export type ClusterOptions = {
  log: (msg: string) => void;
  /** Finds a binary (also in /usr/sbin). */
  which: (bin: string) => string | null | undefined;
  /** Installs Debian packages (services.ts' aptInstall). */
  install: (packages: string[]) => Promise<void>;
};

// ---------------------------------------------------------------------------------------------
// A minimal RESP2 client: one connection per call, commands pipelined, replies parsed.

type Reply = string | number | null | ReplyError | Reply[];
class ReplyError extends Error {}

function parseReply(buf: Buffer, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString("utf8", pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new ReplyError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString("utf8", next, next + len), next + len + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        items.push(item[0]);
        at = item[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`not a Redis reply (starts with ${JSON.stringify(type)})`);
  }
}

/** Sends the commands on one connection; resolves with one reply per command (errors as ReplyError). */
export function redisCommands(port: number, commands: string[][], timeoutMs = 1000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: CLUSTER_HOST, port });
    let buf = Buffer.alloc(0);
    const replies: Reply[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(replies);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`${CLUSTER_HOST}:${port} did not reply within ${timeoutMs} ms`)));
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error(`${CLUSTER_HOST}:${port} closed the connection`)));
    socket.once("connect", () => {
      socket.write(commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`).join(""));
    });
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        let pos = 0;
        for (;;) {
          const parsed = parseReply(buf, pos);
          if (!parsed) break;
          replies.push(parsed[0]);
          pos = parsed[1];
          if (replies.length === commands.length) return finish();
        }
        buf = buf.subarray(pos);
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}

/** "a:1\r\nb:2" (CLUSTER INFO, INFO) → { a: "1", b: "2" }. */
function fields(text: Reply): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof text !== "string") return out;
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#")) out[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Health: what is wrong with the cluster, seen from every node. An empty list means healthy.

type ClusterNode = { id: string; port: number; flags: string[]; master: string; link: string; slots: number };

function parseNodes(text: string): ClusterNode[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const [id, addr, flags, master, , , , link, ...slotRanges] = line.trim().split(" ");
      const slots = slotRanges
        .filter((r) => !r.startsWith("["))
        .reduce((n, r) => {
          const [a, b] = r.split("-").map(Number);
          return n + (b === undefined ? 1 : b - a! + 1);
        }, 0);
      return { id: id!, port: Number(/:(\d+)/.exec(addr ?? "")?.[1]), flags: (flags ?? "").split(","), master: master ?? "-", link: link ?? "", slots };
    });
}

type NodeState = { port: number; answers: boolean; loading: boolean; knownNodes: number; problems: string[] };

async function nodeState(port: number): Promise<NodeState> {
  const where = `${CLUSTER_HOST}:${port}`;
  const state: NodeState = { port, answers: false, loading: false, knownNodes: 0, problems: [] };
  let replies: Reply[];
  try {
    replies = await redisCommands(port, [["CLUSTER", "INFO"], ["CLUSTER", "NODES"], ["INFO", "replication"]]);
  } catch (error) {
    state.problems.push(`${where} does not answer (${(error as Error).message})`);
    return state;
  }
  state.answers = true;
  const failed = replies.find((r): r is ReplyError => r instanceof ReplyError);
  if (failed) {
    state.loading = failed.message.startsWith("LOADING");
    state.problems.push(`${where}: ${failed.message}`);
    return state;
  }
  const info = fields(replies[0]!);
  state.knownNodes = Number(info.cluster_known_nodes ?? 0);
  if (info.cluster_state !== "ok") state.problems.push(`${where}: cluster_state:${info.cluster_state}`);
  if (Number(info.cluster_slots_assigned) !== SLOTS) state.problems.push(`${where}: ${info.cluster_slots_assigned} of ${SLOTS} slots assigned`);
  if (Number(info.cluster_slots_ok) !== SLOTS) state.problems.push(`${where}: ${info.cluster_slots_ok} of ${SLOTS} slots ok`);
  if (state.knownNodes !== CLUSTER_PORTS.length) state.problems.push(`${where}: knows ${state.knownNodes} nodes, not ${CLUSTER_PORTS.length}`);

  const nodes = parseNodes(String(replies[1]));
  for (const n of nodes) {
    const bad = n.flags.filter((f) => ["fail", "fail?", "handshake", "noaddr"].includes(f));
    if (bad.length) state.problems.push(`${where}: sees ${CLUSTER_HOST}:${n.port} as ${bad.join(",")}`);
    else if (n.link !== "connected") state.problems.push(`${where}: its link to ${CLUSTER_HOST}:${n.port} is ${n.link}`);
  }
  const masters = nodes.filter((n) => n.flags.includes("master") && n.slots > 0);
  if (masters.length !== MASTERS) state.problems.push(`${where}: sees ${masters.length} masters with slots, not ${MASTERS}`);
  for (const m of masters) {
    const replicas = nodes.filter((n) => n.flags.includes("slave") && n.master === m.id && n.link === "connected" && !n.flags.some((f) => f.startsWith("fail")));
    if (!replicas.length) state.problems.push(`${where}: master ${CLUSTER_HOST}:${m.port} has no connected replica`);
  }

  const repl = fields(replies[2]!);
  if (repl.role === "master" && masters.some((m) => m.flags.includes("myself"))) {
    const online = Object.entries(repl).filter(([k, v]) => /^slave\d+$/.test(k) && v.includes("state=online"));
    if (!online.length) state.problems.push(`${where}: master without an online replica (connected_slaves:${repl.connected_slaves})`);
  } else if (repl.role === "slave") {
    if (repl.master_link_status !== "up") state.problems.push(`${where}: replica's master_link_status:${repl.master_link_status}`);
  } else {
    state.problems.push(`${where}: role ${repl.role} without slots`);
  }
  return state;
}

const clusterState = () => Promise.all(CLUSTER_PORTS.map(nodeState));
const problemsOf = (states: NodeState[]) => states.flatMap((s) => s.problems);

/** True when the cluster is healthy as seen from every node. */
export async function clusterHealthy(): Promise<boolean> {
  return problemsOf(await clusterState()).length === 0;
}

// ---------------------------------------------------------------------------------------------
// Processes

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A dead daemon nobody reaped (our init may not) is still signalable: treat a zombie as gone.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

/** The pid of our node on `port`: from its pid file (checked to be that redis-server), else asked from the node itself. */
async function nodePid(port: number): Promise<number | undefined> {
  if (existsSync(pidFileOf(port))) {
    const pid = Number(readFileSync(pidFileOf(port), "utf8").trim());
    if (pid > 0 && alive(pid)) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {}
      if (cmdline.includes("redis-server") && (cmdline.includes(`:${port}`) || cmdline.includes(`--port ${port} `))) return pid;
    }
  }
  // Pid file lost or stale: a node that answers on the port with our folder as its dir is ours.
  try {
    const [dir, info] = await redisCommands(port, [["CONFIG", "GET", "dir"], ["INFO", "server"]]);
    if (Array.isArray(dir) && typeof dir[1] === "string" && existsSync(dir[1]) && realpathSync(dir[1]) === realpathSync(nodeDir(port))) return Number(fields(info!).process_id) || undefined;
  } catch {}
  return undefined;
}

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, detail: () => string = () => ""): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      const more = detail();
      throw new Error(`${what}: gave up after ${timeoutMs / 1000}s${more ? `; ${more}` : ""}`);
    }
    await Bun.sleep(POLL_MS);
  }
}

function logTail(port: number, lines = 8): string {
  const file = logFileOf(port);
  if (!existsSync(file)) return `(no ${show(file)})`;
  const tail = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n    ");
  return `last lines of ${show(file)}:\n    ${tail}`;
}

async function startNode(redisServer: string, port: number): Promise<void> {
  const dir = nodeDir(port);
  mkdirSync(dir, { recursive: true });
  rmSync(pidFileOf(port), { force: true }); // stale (the node is not running): nodeUp reads the new one
  // --daemonize: the parent exits once the configuration is accepted (a bad one fails right here),
  // the node runs in its own session so Ctrl-C in our terminal does not reach it.
  const proc = Bun.spawn(
    [
      redisServer, "--port", String(port), "--bind", CLUSTER_HOST, "--dir", dir, "--daemonize", "yes",
      "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
      "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
      // A replica's full sync starts at once instead of waiting 5 s for other replicas to join it.
      "--repl-diskless-sync-delay", "0",
      "--pidfile", pidFileOf(port), "--logfile", logFileOf(port),
    ],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  if ((await proc.exited) !== 0) {
    const out = `${await new Response(proc.stdout).text()}${await new Response(proc.stderr).text()}`.trim();
    throw new Error(`redis-server on ${CLUSTER_HOST}:${port} did not start (exit ${proc.exitCode}): ${out}\n  ${logTail(port)}`);
  }
}

/** Waits until the node on `port` answers PING, or fails early when its process is gone. */
async function nodeUp(port: number): Promise<void> {
  await until(
    `waiting for ${CLUSTER_HOST}:${port} to answer PING`,
    async () => {
      try {
        const [pong] = await redisCommands(port, [["PING"]], 500);
        if (pong === "PONG") return true;
      } catch {}
      // The pid file is written right after the fork; without a live process there is nothing to wait for.
      if (existsSync(pidFileOf(port)) && !(await nodePid(port))) throw new Error(`redis-server on ${CLUSTER_HOST}:${port} exited\n  ${logTail(port)}`);
      return undefined;
    },
    NODE_UP_MS,
    () => logTail(port),
  );
}

class PortTaken extends Error {}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: CLUSTER_HOST, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** A node we are about to start needs its port and its cluster bus port (+10000): fail before touching any data. */
async function portsFree(ports: readonly number[]): Promise<void> {
  const taken = (await Promise.all(ports.flatMap((p) => [p, p + 10000]).map(async (p) => ((await listening(p)) ? p : 0)))).filter(Boolean);
  if (taken.length) throw new PortTaken(`port(s) ${taken.join(", ")} on ${CLUSTER_HOST} are in use by another process; free them (a node uses its port and port + 10000)`);
}

async function stopNode(port: number): Promise<"stopped" | "killed" | undefined> {
  const pid = await nodePid(port);
  if (!pid) return undefined;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return undefined;
  }
  // Redis refuses a shutdown while it writes its first AOF after a sync ("Writing initial AOF, can't
  // exit") and then forgets the signal: repeat it until the node is gone.
  let signalled = Date.now();
  try {
    await until(
      `waiting for ${CLUSTER_HOST}:${port} (pid ${pid}) to exit after SIGTERM`,
      () => {
        if (!alive(pid)) return true;
        if (Date.now() - signalled >= 500) {
          signalled = Date.now();
          try {
            process.kill(pid, "SIGTERM");
          } catch {}
        }
        return undefined;
      },
      STOP_TERM_MS,
    );
    return "stopped";
  } catch {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
    await until(`waiting for ${CLUSTER_HOST}:${port} (pid ${pid}) to exit after SIGKILL`, () => (alive(pid) ? undefined : true), 5_000);
    return "killed";
  }
}

/** One `services cluster` run at a time (parallel test files may all ask for the cluster). */
async function withLock<T>(log: (msg: string) => void, fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, ".services"), { recursive: true });
  let said = false;
  await until(
    `waiting for the lock ${show(lockFile)}`,
    () => {
      try {
        const fd = openSync(lockFile, "wx");
        writeFileSync(fd, String(process.pid));
        closeSync(fd);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      let holder = 0;
      try {
        holder = Number(readFileSync(lockFile, "utf8").trim());
      } catch {}
      if (holder > 0 && !alive(holder)) {
        rmSync(lockFile, { force: true }); // left by a run that died
      } else if (!said) {
        said = true;
        log(`redis cluster: waiting for another run (pid ${holder || "?"}) to finish`);
      }
      return undefined;
    },
    LOCK_MS,
  );
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(lockFile, "utf8").trim() === String(process.pid)) unlinkSync(lockFile);
    } catch {}
  }
}

// ---------------------------------------------------------------------------------------------
// start / stop

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
