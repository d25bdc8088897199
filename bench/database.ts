/**
 * The bench's own database (chat_bench), dropped and created afresh at each run, on whatever MariaDB
 * `bun run services` left, including one started from another checkout. Who may create it, tried in
 * order (the first that manages wins):
 *   1. BENCH_DATABASE_ADMIN_URL when set (mysql://root:pw@host:port/, or ?socket=/path/mysqld.sock);
 *      nothing else is tried then;
 *   2. root over this checkout's socket (.services/mariadb/mysqld.sock);
 *   3. the app user of DATABASE_URL (default chat:chat): enough once it holds ALL on chat_bench;
 *   4. root over the socket of the MariaDB actually listening on DATABASE_URL's port (its
 *      `--socket=`, the unix sockets it listens on), or the system's /run/mysqld/mysqld.sock.
 * An administrator also creates the app user and grants it chat_bench, as scripts/services.ts does
 * for chat and chat_test (same statements).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { commands, pidOfPort } from "./cpu.ts";

type Attempt = { who: string; connect: () => Promise<mysql.Connection>; admin: boolean };

/** scripts/services.ts's user and grant statements, for one database. */
export function grantStatements(user: string, password: string, database: string): string[] {
  return [
    `CREATE USER IF NOT EXISTS '${user}'@'%' IDENTIFIED BY '${password}'`,
    `CREATE USER IF NOT EXISTS '${user}'@'localhost' IDENTIFIED BY '${password}'`,
    `GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${user}'@'%'`,
    `GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${user}'@'localhost'`,
  ];
}

/** The unix sockets the MariaDB listening on `port` serves: its --socket= argument and what `ss` shows it listening on. */
export function listeningSockets(port: number): string[] {
  const pid = pidOfPort(port, commands.mysql);
  if (!pid) return [];
  const found: string[] = [];
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    for (const arg of args) if (arg.startsWith("--socket=")) found.push(arg.slice("--socket=".length));
  } catch {
    // Not ours to read: ss may still tell.
  }
  const ss = Bun.which("ss") ? Bun.spawnSync(["ss", "-xlpn"]).stdout.toString() : "";
  for (const line of ss.split("\n")) if (line.includes(`pid=${pid},`)) found.push(...(/\s(\/\S+)\s/.exec(line)?.slice(1) ?? []));
  return [...new Set(found)].filter((s) => existsSync(s));
}

function attempts(checkout: string, databaseUrl: URL, adminUrl: string | undefined): Attempt[] {
  const socketRoot = (socketPath: string, who: string): Attempt => ({ who, admin: true, connect: () => mysql.createConnection({ socketPath, user: "root" }) });
  if (adminUrl) {
    const url = new URL(adminUrl);
    const socketPath = url.searchParams.get("socket");
    const user = decodeURIComponent(url.username || "root");
    const password = decodeURIComponent(url.password);
    const connect = socketPath
      ? () => mysql.createConnection({ socketPath, user, password })
      : () => mysql.createConnection({ host: url.hostname, port: Number(url.port || 3306), user, password });
    return [{ who: `BENCH_DATABASE_ADMIN_URL (${user})`, admin: true, connect }];
  }
  const own = join(checkout, ".services/mariadb/mysqld.sock");
  const port = Number(databaseUrl.port || 3306);
  const appUser = decodeURIComponent(databaseUrl.username || "chat");
  const others = [...listeningSockets(port), "/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock"].filter((s, i, all) => s !== own && existsSync(s) && all.indexOf(s) === i);
  return [
    ...(existsSync(own) ? [socketRoot(own, `root over ${own}`)] : []),
    {
      who: `the app user ${appUser} on ${databaseUrl.host}`,
      admin: false,
      connect: () => mysql.createConnection({ host: databaseUrl.hostname, port, user: appUser, password: decodeURIComponent(databaseUrl.password) }),
    },
    ...others.map((s) => socketRoot(s, `root over ${s} (the MariaDB on port ${port})`)),
  ];
}

/**
 * Drops and creates `database` (chat_bench) on the server of `databaseUrl`, granted to its user;
 * throws one sentence saying what it needs when no one may.
 */
export async function recreateDatabase(opts: { checkout: string; databaseUrl: string; adminUrl?: string; log: (msg: string) => void }): Promise<void> {
  const url = new URL(opts.databaseUrl);
  const database = url.pathname.slice(1);
  const user = decodeURIComponent(url.username || "chat");
  const failures: string[] = [];
  for (const attempt of attempts(opts.checkout, url, opts.adminUrl)) {
    let conn: mysql.Connection | undefined;
    try {
      conn = await attempt.connect();
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      if (attempt.admin) for (const sql of grantStatements(user, decodeURIComponent(url.password), database)) await conn.query(sql);
      if (failures.length) opts.log(`created ${database} as ${attempt.who}`);
      return;
    } catch (error) {
      failures.push(`${attempt.who}: ${error instanceof Error ? error.message : error}`);
    } finally {
      await conn?.end().catch(() => {});
    }
  }
  for (const failure of failures) opts.log(`could not create ${database}: ${failure}`);
  throw new Error(
    `bun run bench needs to drop and create the database ${database} on ${url.host} and no one it tried may (${failures.length} tried, above): ` +
      `grant ${user} ALL on ${database} (or CREATE), run \`bun run services\` from this checkout, or set BENCH_DATABASE_ADMIN_URL=mysql://root@127.0.0.1:${url.port || 3306}/ (or mysql://root@localhost/?socket=/path/to/mysqld.sock) to a user that may.`,
  );
}
