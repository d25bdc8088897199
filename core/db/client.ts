import { drizzle } from "drizzle-orm/mysql2";
import mysql from "mysql2/promise";
import * as schema from "./schema.ts";

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
  });
  const db = drizzle(pool, { schema, mode: "default" });
  return { db, pool };
}

export type Db = ReturnType<typeof createDb>["db"];
export type Pool = ReturnType<typeof createDb>["pool"];
export { schema };
