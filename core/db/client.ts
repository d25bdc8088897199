import { drizzle } from "drizzle-orm/mysql2";
import mysql, { format } from "mysql2/promise";
import * as schema from "./schema.ts";

/**
 * How the pool turns a query and its values into SQL text: as mysql2 does by default (its
 * `Connection.format`), except that a query without values is sent as written. mysql2 formats every
 * query, even one without values, and formatting scans the whole text for placeholders: the worker's
 * batch INSERTs carry their rows as text (worker/sinks/rows.ts), about 0.15 µs per row scanned for
 * nothing. mysql2 calls it on the connection, with the connection's time zone.
 */
export function formatQuery(this: { config: { stringifyObjects?: boolean } }, sql: string, values: unknown, timezone?: string): string {
  if (Array.isArray(values) && values.length === 0) return sql;
  return format(sql, values as Parameters<typeof format>[1], this.config.stringifyObjects ?? false, timezone);
}

/** One pool per process. Dates are read and written as UTC. */
export function createDb(databaseUrl: string, connectionLimit = 10) {
  const pool = mysql.createPool({
    uri: databaseUrl,
    connectionLimit,
    timezone: "Z",
    charset: "utf8mb4_bin",
    supportBigNumbers: true,
    enableKeepAlive: true,
    connectTimeout: 5000,
    queryFormat: formatQuery,
  });
  const db = drizzle(pool, { schema, mode: "default" });
  return { db, pool };
}

export type Db = ReturnType<typeof createDb>["db"];
export type Pool = ReturnType<typeof createDb>["pool"];
export { schema };
