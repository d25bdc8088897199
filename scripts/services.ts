/**
 * `bun run services` starts whatever of MariaDB/MySQL, Redis and Elasticsearch is not answering
 * and returns once each answers; `bun run services stop` stops what it started.
 *
 * MariaDB and Redis come from Debian's packages (installed with apt when absent and running as root)
 * and run from data folders under .services/; Elasticsearch is the real 8.19 server from Maven
 * Central, run by scripts/elasticsearch/. Anything already answering on the configured ports
 * (a system service, docker) is used as it is.
 *
 * `bun run services cluster` / `bun run services cluster stop`: a local Redis Cluster on
 * 127.0.0.1:7000–7005 (scripts/redis-cluster.ts), independent of the services above.
 *
 * `bun run services replica` / `bun run services replica stop`: a read replica of that MariaDB on
 * 127.0.0.1:3307 (scripts/services/mariadb-replica.ts), for DATABASE_READ_URL.
 *
 * `bun run services browser`: Debian's headless-capable `chromium` (and a font for its screenshots),
 * installed with apt when /usr/bin/chromium is missing, for the web client's browser tests.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureElasticsearch, stopElasticsearch } from "./elasticsearch/node.ts";
import { ensureRedisCluster, stopRedisCluster } from "./redis-cluster.ts";
import { ensureMariadbReplica, stopMariadbReplica } from "./services/mariadb-replica.ts";
import { answers, daemon, log, run, stopPidFile, waitFor, which } from "./services/process.ts";

const root = join(import.meta.dir, "..");
const state = join(root, ".services");

const databaseUrl = new URL(process.env.DATABASE_URL ?? "mysql://chat:chat@127.0.0.1:3306/chat");
const redisUrl = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0");
/** Where Debian's chromium package puts the browser; the browser tests launch it (tests/browser/). */
const CHROMIUM = "/usr/bin/chromium";
const databases = [...new Set([databaseUrl.pathname.slice(1) || "chat", "chat", "chat_test"])];

async function aptInstall(packages: string[]) {
  if (process.getuid?.() !== 0) {
    throw new Error(`${packages.join(", ")} missing: install them (apt-get install ${packages.join(" ")}) or run as root`);
  }
  log(`installing ${packages.join(", ")} with apt`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (!existsSync("/var/lib/apt/lists") || (await run(["ls", "/var/lib/apt/lists"], { quiet: true })).split("\n").length < 5) {
    await run(["apt-get", "update", "-qq"], { env, quiet: true });
  }
  await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...packages], { env, quiet: true }).catch(async () => {
    await run(["apt-get", "update", "-qq"], { env, quiet: true });
    await run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...packages], { env, quiet: true });
  });
}

/** The socket on which root administers the MariaDB of DATABASE_URL: ours, else a system one. */
function mariadbRootSocket(): string | undefined {
  return [join(state, "mariadb", "mysqld.sock"), "/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock"].find((s) => existsSync(s));
}

async function ensureMariadb(): Promise<string> {
  const host = databaseUrl.hostname;
  const port = Number(databaseUrl.port || 3306);
  const dir = join(state, "mariadb");
  const socket = join(dir, "mysqld.sock");
  let started = "already running";
  if (!(await answers(host, port))) {
    const server = which("mariadbd") ?? which("mysqld")!;
    mkdirSync(dir, { recursive: true });
    const data = join(dir, "data");
    if (!existsSync(join(data, "mysql"))) {
      log("initialising the MariaDB data folder");
      rmSync(data, { recursive: true, force: true });
      const installer = which("mariadb-install-db") ?? which("mysql_install_db")!;
      await run([installer, "--no-defaults", `--datadir=${data}`, "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"], { quiet: true });
    }
    daemon(
      [
        server, "--no-defaults", `--datadir=${data}`, `--socket=${socket}`, `--pid-file=${join(dir, "mariadb.pid")}`,
        `--port=${port}`, "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve",
        "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
        "--innodb-buffer-pool-size=512M", "--innodb-flush-log-at-trx-commit=2", "--max-connections=500",
        // A binary log with GTIDs (always on in MariaDB), so `bun run services replica` can follow it;
        // a fixed name (the default is the host name's) and a day of history.
        "--log-bin=mariadb-bin", "--server-id=1", "--binlog-format=ROW", "--binlog-expire-logs-seconds=86400",
        `--log-error=${join(dir, "error.log")}`,
      ],
      join(dir, "stdout.log"),
    );
    // Its TCP port accepts connections a moment before it is ready and its socket listens (root's
    // statements below go over the socket): wait for a statement to run there.
    const client = which("mariadb") ?? which("mysql")!;
    const ready = () => run([client, "-uroot", `--socket=${socket}`, "-e", "SELECT 1"], { quiet: true }).then(() => true, () => false);
    await waitFor("MariaDB", async () => (await answers(host, port)) && (await ready()), 60_000, join(dir, "error.log"));
    started = "started";
  }
  // Create the user and databases as root over a local socket; elsewhere they must exist already.
  const rootSocket = mariadbRootSocket();
  if (rootSocket) {
    const client = which("mariadb") ?? which("mysql")!;
    const user = decodeURIComponent(databaseUrl.username || "chat");
    const password = decodeURIComponent(databaseUrl.password || "");
    const sql = [
      `CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${password}'`,
      `CREATE USER IF NOT EXISTS '${user}'@'localhost' IDENTIFIED BY '${password}'`,
      ...databases.flatMap((db) => [
        `CREATE DATABASE IF NOT EXISTS \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
        `GRANT ALL PRIVILEGES ON \`${db}\`.* TO '${user}'@'%'`,
        `GRANT ALL PRIVILEGES ON \`${db}\`.* TO '${user}'@'localhost'`,
      ]),
    ].join(";\n");
    await run([client, "-uroot", `--socket=${rootSocket}`, "-e", sql], { quiet: true });
  }
  return started;
}

async function ensureRedis(): Promise<string> {
  const host = redisUrl.hostname;
  const port = Number(redisUrl.port || 6379);
  if (await answers(host, port)) return "already running";
  const dir = join(state, "redis");
  mkdirSync(dir, { recursive: true });
  // AOF as in docker-compose: every write is in the log, fsynced once a second (README: durability).
  daemon(
    [
      which("redis-server")!, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
      "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction",
      "--pidfile", join(dir, "redis.pid"), "--logfile", join(dir, "redis.log"),
    ],
    join(dir, "stdout.log"),
  );
  await waitFor("Redis", () => answers(host, port), 20_000, join(dir, "redis.log"));
  return "started";
}

async function main() {
  const command = process.argv[2] ?? "start";
  const started = Date.now();
  if (command === "cluster") {
    const sub = process.argv[3] ?? "start";
    if (process.argv.length > 4 || (sub !== "start" && sub !== "stop")) throw new Error(`unknown command cluster ${process.argv.slice(3).join(" ")}: use cluster, cluster start or cluster stop`);
    const result = sub === "stop" ? await stopRedisCluster({ log }) : await ensureRedisCluster({ log, which, install: aptInstall });
    log(`redis cluster ${result}`);
    return;
  }
  if (command === "replica") {
    const sub = process.argv[3] ?? "start";
    if (process.argv.length > 4 || (sub !== "start" && sub !== "stop")) throw new Error(`unknown command replica ${process.argv.slice(3).join(" ")}: use replica, replica start or replica stop`);
    if (sub === "stop") return void ((await stopMariadbReplica()) || log("mariadb replica not running"));
    if (!which("mariadbd") && !which("mysqld")) await aptInstall(["mariadb-server", "mariadb-client"]);
    const primary = await ensureMariadb();
    const replica = await ensureMariadbReplica({ primary: databaseUrl, rootSocket: mariadbRootSocket(), databases });
    return log(`mariadb ${primary}, replica ${replica} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }
  if (command === "browser") {
    if (process.argv.length > 3) throw new Error(`unknown command browser ${process.argv.slice(3).join(" ")}: use browser`);
    if (existsSync(CHROMIUM)) return log(`chromium already installed (${CHROMIUM})`);
    // Without a font the screenshots would show boxes; DejaVu is Debian's default and small.
    await aptInstall(["chromium", "fonts-dejavu-core"]);
    if (!existsSync(CHROMIUM)) throw new Error(`apt installed chromium but ${CHROMIUM} is missing`);
    return log(`chromium installed (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  }
  if (command === "stop") {
    await Promise.all([
      stopMariadbReplica(),
      stopPidFile("MariaDB", join(state, "mariadb", "mariadb.pid")),
      stopPidFile("Redis", join(state, "redis", "redis.pid")),
      stopElasticsearch().then((stopped) => stopped && log("Elasticsearch stopped")),
    ]);
    return;
  }
  if (command !== "start") throw new Error(`unknown command ${command}: use start, stop, cluster [stop], replica [stop] or browser`);
  // With REDIS_CLUSTER_NODES the processes use that cluster (`bun run services cluster` starts the
  // local one): no standalone Redis is started or waited for.
  const clustered = !!process.env.REDIS_CLUSTER_NODES?.trim();
  // One apt run for everything missing (two at once would fight over dpkg's lock).
  const missing = [
    ...(!(await answers(databaseUrl.hostname, Number(databaseUrl.port || 3306))) && !which("mariadbd") && !which("mysqld") ? ["mariadb-server", "mariadb-client"] : []),
    ...(!clustered && !(await answers(redisUrl.hostname, Number(redisUrl.port || 6379))) && !which("redis-server") ? ["redis-server"] : []),
  ];
  if (missing.length) await aptInstall(missing);
  const [mariadb, redis, elasticsearch] = await Promise.all([
    ensureMariadb(),
    clustered ? "not used (REDIS_CLUSTER_NODES is set)" : ensureRedis(),
    ensureElasticsearch({ log: (msg) => log(`elasticsearch: ${msg}`) }),
  ]);
  log(`mariadb ${mariadb}, redis ${redis}, elasticsearch ${elasticsearch} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

main().catch((error) => {
  console.error(`[services] ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
