/**
 * `bun run services replica [start|stop]`: a MariaDB read replica of the services' MariaDB, for
 * DATABASE_READ_URL (README). A second mariadbd on 127.0.0.1:3307 (or the port of DATABASE_READ_URL
 * when that names this machine) running from .services/mariadb-replica/, read-only, following the
 * primary's binary log by GTID (MASTER_USE_GTID=slave_pos). It replicates only the databases of
 * `bun run services` (DATABASE_URL's, chat, chat_test): other databases on the primary (benchmarks,
 * other checkouts) cost it nothing. DATABASE_URL's user may read everything on it, and write nothing.
 *
 * start is idempotent:
 * - the replica answers, follows this primary for every database asked for, with no replication
 *   error → replication is started if it was stopped (a test stops it), and the replica waited for;
 * - its data folder is there but it is down → it is started again, then as above;
 * - anything else (no folder, a database it does not replicate, a replication error, a primary whose
 *   binary log no longer has what the replica needs) → the folder is wiped and the replica built
 *   anew: the databases are copied with mariadb-dump --single-transaction --gtid --master-data (one
 *   consistent snapshot and its GTID position) and replication starts from that position.
 * It returns once the replica has applied everything the primary had logged when start was called.
 *
 * The primary needs its binary log (services.ts starts it with --log-bin; one started before that
 * must be restarted once) and is administered as root over its local socket.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { answers, daemon, log, run, stopPidFile, waitFor, which } from "./process.ts";

const dir = join(import.meta.dir, "../../.services/mariadb-replica");
const data = join(dir, "data");
const socket = join(dir, "mysqld.sock");
const pidFile = join(dir, "mariadb.pid");
const errorLog = join(dir, "error.log");
/** The databases the replica was built with (its replication filter), one per line. */
const databasesFile = join(dir, "databases");
/** The account the replica reads the primary's binary log with (created on the primary only). */
const replicationUser = { name: "chat_replication", password: "chat_replication" };

/** 3307, or the port of DATABASE_READ_URL when it names this machine. */
export function replicaPort(env: Record<string, string | undefined> = process.env): number {
  const raw = env.DATABASE_READ_URL?.trim();
  if (raw) {
    const url = new URL(raw);
    if (["127.0.0.1", "localhost"].includes(url.hostname) && url.port) return Number(url.port);
  }
  return 3307;
}

/** DATABASE_URL with the replica's host and port: the same user and database, for DATABASE_READ_URL. */
export function replicaUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(replicaPort({}));
  return url.toString();
}

const client = () => which("mariadb") ?? which("mysql")!;

/** Runs SQL as root over a socket; returns the rows, tab-separated (no header). */
async function sql(on: string, statements: string): Promise<string> {
  return run([client(), "-uroot", `--socket=${on}`, "-N", "-B", "-e", statements], { quiet: true });
}

/** Runs SQL as root on the replica (tests stop and start its replication with it). */
export function replicaSql(statements: string): Promise<string> {
  return sql(socket, statements);
}

/** SHOW SLAVE STATUS as field → value; undefined when no primary is configured. */
async function replicationStatus(): Promise<Record<string, string> | undefined> {
  const text = await run([client(), "-uroot", `--socket=${socket}`, "-e", "SHOW SLAVE STATUS\\G"], { quiet: true });
  const fields: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*(\w+): ?(.*)$/.exec(line);
    if (match) fields[match[1]!] = match[2]!;
  }
  return Object.keys(fields).length ? fields : undefined;
}

/** Why the running replica cannot simply go on, or undefined when it can. */
async function problem(primary: URL, databases: string[]): Promise<string | undefined> {
  const kept = existsSync(databasesFile) ? readFileSync(databasesFile, "utf8").split("\n").filter(Boolean) : [];
  const missing = databases.filter((db) => !kept.includes(db));
  if (missing.length) return `it does not replicate ${missing.join(", ")}`;
  const status = await replicationStatus();
  if (!status) return "it has no primary";
  if (status.Master_Port !== String(Number(primary.port || 3306))) return `it follows port ${status.Master_Port}`;
  if (status.Using_Gtid !== "Slave_Pos") return `it does not follow GTIDs (Using_Gtid: ${status.Using_Gtid})`;
  if (Number(status.Last_SQL_Errno)) return `replication stopped on error ${status.Last_SQL_Errno}: ${status.Last_SQL_Error}`;
  // 1236: the primary's binary log lacks what the replica needs next (purged, or a new primary).
  if (Number(status.Last_IO_Errno) === 1236) return `the primary cannot serve it: ${status.Last_IO_Error}`;
  return undefined;
}

/** Escapes a database name for a replicate-wild-do-table pattern (`_` and `%` are wildcards there). */
const pattern = (db: string) => `${db.replace(/[\\_%]/g, (c) => `\\${c}`)}.%`;

function start(port: number, databases: string[]) {
  daemon(
    [
      which("mariadbd") ?? which("mysqld")!, "--no-defaults", `--datadir=${data}`, `--socket=${socket}`, `--pid-file=${pidFile}`,
      `--port=${port}`, "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve",
      "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
      "--innodb-buffer-pool-size=128M", "--innodb-flush-log-at-trx-commit=2",
      "--server-id=2", "--read-only", "--relay-log=relay-bin", "--relay-log-recovery",
      ...databases.map((db) => `--replicate-wild-do-table=${pattern(db)}`),
      `--log-error=${errorLog}`,
    ],
    join(dir, "stdout.log"),
  );
  // Its TCP port answers a moment before its socket takes root's statements: wait for one to run.
  return waitFor("MariaDB replica", async () => (await answers("127.0.0.1", port)) && (await sql(socket, "SELECT 1").then(() => true, () => false)), 60_000, errorLog);
}

/** Wipes the replica, copies the databases from a consistent snapshot and follows the primary from its GTID position. */
async function build(options: ReplicaOptions, port: number, databases: string[]): Promise<void> {
  const { primary, rootSocket } = options;
  await stopPidFile("MariaDB replica", pidFile);
  if (await answers("127.0.0.1", port)) throw new Error(`127.0.0.1:${port} answers but is not the replica of ${dir}: free the port or set DATABASE_READ_URL to another one`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const installer = which("mariadb-install-db") ?? which("mysql_install_db")!;
  await run([installer, "--no-defaults", `--datadir=${data}`, "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"], { quiet: true });
  writeFileSync(databasesFile, `${databases.join("\n")}\n`);
  await start(port, databases);

  // The replication account exists on the primary only: kept out of its binary log.
  const { name, password } = replicationUser;
  await sql(rootSocket!, `SET SESSION sql_log_bin = 0; CREATE USER IF NOT EXISTS '${name}'@'%' IDENTIFIED BY '${password}'; ALTER USER '${name}'@'%' IDENTIFIED BY '${password}'; GRANT REPLICATION SLAVE ON *.* TO '${name}'@'%'`);
  const user = decodeURIComponent(primary.username || "chat");
  const userPassword = decodeURIComponent(primary.password || "");
  await sql(socket, [`'${user}'@'%'`, `'${user}'@'localhost'`].map((who) => `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY '${userPassword}'; GRANT SELECT ON *.* TO ${who}`).join(";"));

  // One consistent snapshot of the databases the primary has, ending with SET GLOBAL gtid_slave_pos.
  const present = (await sql(rootSocket!, "SHOW DATABASES")).split("\n").filter((db) => databases.includes(db));
  if (present.length) {
    const dump = Bun.spawn([which("mariadb-dump") ?? which("mysqldump")!, "-uroot", `--socket=${rootSocket}`, "--single-transaction", "--gtid", "--master-data=1", "--databases", ...present], { stdout: "pipe", stderr: "pipe" });
    const load = Bun.spawn([client(), "-uroot", `--socket=${socket}`], { stdin: dump.stdout, stdout: "ignore", stderr: "pipe" });
    const [dumped, loaded] = await Promise.all([dump.exited, load.exited]);
    if (dumped !== 0 || loaded !== 0) {
      throw new Error(`copying ${present.join(", ")} to the replica failed: ${await new Response(dump.stderr).text()}${await new Response(load.stderr).text()}`);
    }
  } else {
    const [position] = (await sql(rootSocket!, "SELECT @@GLOBAL.gtid_binlog_pos")).split("\n");
    await sql(socket, `SET GLOBAL gtid_slave_pos = '${position ?? ""}'`);
  }
  await sql(socket, `CHANGE MASTER TO MASTER_HOST = '${primary.hostname}', MASTER_PORT = ${Number(primary.port || 3306)}, MASTER_USER = '${name}', MASTER_PASSWORD = '${password}', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1; START SLAVE`);
}

/** Starts replication (a no-op when it runs) and waits until both threads run, or a replication error. */
async function replicating(): Promise<string | undefined> {
  await replicaSql("START SLAVE");
  const deadline = Date.now() + 30_000;
  let status: Record<string, string> | undefined;
  while (Date.now() < deadline) {
    status = await replicationStatus();
    if (Number(status?.Last_SQL_Errno)) return `replication stopped on error ${status!.Last_SQL_Errno}: ${status!.Last_SQL_Error}`;
    if (Number(status?.Last_IO_Errno) === 1236) return `the primary cannot serve it: ${status!.Last_IO_Error}`;
    if (status?.Slave_IO_Running === "Yes" && status.Slave_SQL_Running === "Yes") return undefined;
    await Bun.sleep(100);
  }
  throw new Error(`the replica did not connect to its primary within 30s (IO: ${status?.Slave_IO_Running}, ${status?.Last_IO_Error || "no error"}); see ${errorLog}`);
}

export type ReplicaOptions = {
  /** DATABASE_URL: the primary, and the user who reads the replica. */
  primary: URL;
  /** Where root administers the primary. */
  rootSocket: string | undefined;
  /** The databases to replicate. */
  databases: string[];
};

export async function ensureMariadbReplica(options: ReplicaOptions): Promise<string> {
  const { primary, rootSocket } = options;
  if (!rootSocket) throw new Error("the replica is set up as root over the primary's local socket, and none was found (a MariaDB of `bun run services` or a system one)");
  const [logBin, position] = (await sql(rootSocket, "SELECT @@GLOBAL.log_bin, @@GLOBAL.gtid_binlog_pos")).trim().split("\t");
  if (logBin !== "1") {
    throw new Error(`the MariaDB on ${primary.host} writes no binary log, so nothing can replicate it: it was started before services.ts passed --log-bin. Restart it once: kill $(cat .services/mariadb/mariadb.pid), then bun run services`);
  }
  const port = replicaPort();
  let databases = options.databases;
  let result = "already running";
  let why: string | undefined = "no replica yet";
  if (existsSync(join(data, "mysql"))) {
    const kept = existsSync(databasesFile) ? readFileSync(databasesFile, "utf8").split("\n").filter(Boolean) : [];
    databases = [...new Set([...kept, ...options.databases])];
    if (!existsSync(socket) || !(await sql(socket, "SELECT 1").then(() => true, () => false))) {
      if (await answers("127.0.0.1", port)) throw new Error(`127.0.0.1:${port} answers but is not the replica of ${dir}: free the port or set DATABASE_READ_URL to another one`);
      await start(port, kept);
      result = "restarted";
    }
    why = (await problem(primary, options.databases)) ?? (await replicating());
  }
  if (why) {
    log(`mariadb replica: building it anew (${why})`);
    await build(options, port, databases);
    result = `built (${databases.join(", ")})`;
    const still = await replicating();
    if (still) throw new Error(`the new replica does not replicate: ${still}; see ${errorLog}`);
  }
  // Caught up with everything the primary had logged when we were called.
  const [reached] = (await sql(socket, `SELECT MASTER_GTID_WAIT('${position}', 60)`)).split("\n");
  if (reached !== "0") throw new Error(`the replica did not catch up with the primary (${position}) within 60s; see ${errorLog}`);
  return `${result} on 127.0.0.1:${port}`;
}

/** Stops the replica (its data is kept); false when it was not running. */
export async function stopMariadbReplica(): Promise<boolean> {
  if (!existsSync(pidFile)) return false;
  await stopPidFile("MariaDB replica", pidFile);
  return true;
}
