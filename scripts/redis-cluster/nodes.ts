/** The six redis-server processes: start, wait for, stop, and one run at a time. */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, realpathSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { CLUSTER_HOST, LOCK_MS, NODE_UP_MS, POLL_MS, STOP_TERM_MS, lockFile, logFileOf, nodeDir, pidFileOf, root, show } from "./layout.ts";
import { fields, redisCommands } from "./resp.ts";

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
export async function nodePid(port: number): Promise<number | undefined> {
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

export async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, detail: () => string = () => ""): Promise<T> {
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

export function logTail(port: number, lines = 8): string {
  const file = logFileOf(port);
  if (!existsSync(file)) return `(no ${show(file)})`;
  const tail = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n    ");
  return `last lines of ${show(file)}:\n    ${tail}`;
}

export async function startNode(redisServer: string, port: number): Promise<void> {
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
export async function nodeUp(port: number): Promise<void> {
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

export class PortTaken extends Error {}

export function listening(port: number): Promise<boolean> {
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
export async function portsFree(ports: readonly number[]): Promise<void> {
  const taken = (await Promise.all(ports.flatMap((p) => [p, p + 10000]).map(async (p) => ((await listening(p)) ? p : 0)))).filter(Boolean);
  if (taken.length) throw new PortTaken(`port(s) ${taken.join(", ")} on ${CLUSTER_HOST} are in use by another process; free them (a node uses its port and port + 10000)`);
}

export async function stopNode(port: number): Promise<"stopped" | "killed" | undefined> {
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
export async function withLock<T>(log: (msg: string) => void, fn: () => Promise<T>): Promise<T> {
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
