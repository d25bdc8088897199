/**
 * DATABASE_READ_URL: the API reads chats and messages from a replica, so a pending overlay entry may
 * leave Redis only once the replica holds its row (SPEC §5.2). After a batch's commit the MySQL sink
 * reads the primary's GTID position on the same connection; it covers that commit and every earlier
 * one (also the one that wrote a redelivered batch's rows first, when this commit changed nothing).
 * Then it waits on the replica until it has applied that position: MASTER_GTID_WAIT on MariaDB,
 * WAIT_FOR_EXECUTED_GTID_SET on MySQL 8.
 *
 * A wait that times out (the replica lags or is stopped) or fails throws ReplicaBehind: the batch is
 * not acknowledged, its overlay entries stay, and the consumer retries it with backoff like any
 * outage (re-applying it is idempotent). The API keeps serving those writes from the overlay.
 */
import type { PoolConnection } from "mysql2/promise";
import type { Pool } from "../../core/db/client.ts";

/** The replica has not applied a committed batch in time (or could not be asked): retry the batch later. */
export class ReplicaBehind extends Error {
  override name = "ReplicaBehind";
}

type Flavor = "mariadb" | "mysql";

async function one(conn: Pick<PoolConnection, "query">, sql: string, values: unknown[] = [], timeout?: number): Promise<Record<string, unknown>> {
  const [rows] = (await conn.query({ sql, values, timeout })) as unknown as [Record<string, unknown>[]];
  return rows[0] ?? {};
}

export function replicaWaiter(replica: Pool, timeoutMs: number) {
  let flavor: Flavor | undefined;
  /** The server ids of both ends; the same server (DATABASE_READ_URL naming the primary) needs no wait. */
  let primaryId = "";
  let sameServer: boolean | undefined;

  return {
    /**
     * The primary's GTID position, read on `conn` right after its commit ("" when DATABASE_READ_URL
     * names the primary itself: nothing to wait for). Throws ReplicaBehind when
     * the primary has none (no binary log, or MySQL without gtid_mode=ON): nothing could then tell
     * when the replica caught up, so nothing is released.
     */
    async position(conn: PoolConnection): Promise<string> {
      if (!flavor) {
        const row = await one(conn, "SELECT VERSION() AS v, @@server_id AS id");
        flavor = /mariadb/i.test(String(row.v)) ? "mariadb" : "mysql";
        primaryId = String(row.id);
      }
      sameServer ??= await one(replica, "SELECT @@server_id AS id").then(
        (row) => String(row.id) === primaryId,
        (error) => {
          throw new ReplicaBehind(`could not reach the replica: ${(error as Error)?.message ?? error}`, { cause: error });
        },
      );
      if (sameServer) return "";
      const row =
        flavor === "mariadb"
          ? await one(conn, "SELECT @@GLOBAL.gtid_binlog_pos AS pos, @@GLOBAL.log_bin = 1 AS ok")
          : await one(conn, "SELECT @@GLOBAL.gtid_executed AS pos, @@GLOBAL.gtid_mode = 'ON' AS ok");
      const pos = String(row.pos ?? "").replace(/\s+/g, "");
      if (!Number(row.ok) || !pos) {
        throw new ReplicaBehind(flavor === "mariadb" ? "DATABASE_READ_URL is set but the primary writes no binary log (log_bin): the replica's progress cannot be checked" : "DATABASE_READ_URL is set but the primary runs without gtid_mode=ON: the replica's progress cannot be checked");
      }
      return pos;
    },

    /** Resolves once the replica has applied `position`; throws ReplicaBehind after timeoutMs. */
    async reached(position: string): Promise<void> {
      const seconds = timeoutMs / 1000;
      // The server ends the wait; the client-side limit only backstops a connection that died silently.
      const clientTimeout = timeoutMs + 5000;
      let result: unknown;
      if (sameServer) return;
      try {
        result =
          flavor === "mysql"
            ? (await one(replica, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r", [position, Math.max(1, Math.ceil(seconds))], clientTimeout)).r
            : (await one(replica, "SELECT MASTER_GTID_WAIT(?, ?) AS r", [position, seconds], clientTimeout)).r;
      } catch (error) {
        throw new ReplicaBehind(`could not wait for the replica: ${(error as Error)?.message ?? error}`, { cause: error });
      }
      if (Number(result) !== 0 || result === null) throw new ReplicaBehind(`the replica has not applied ${position} within ${timeoutMs} ms`);
    },
  };
}

export type ReplicaWaiter = ReturnType<typeof replicaWaiter>;
