/**
 * The messages reads every GET and list page makes, as plain SQL on the pool's callback API. A read
 * is one MySQL round trip either way; building it with the query builder and awaiting it through
 * the promise wrapper (which captures a stack per query) cost more API CPU than the round trip.
 * Keyset pages only (SPEC §3.2): `number` after the cursor, up to a bound, never OFFSET.
 */
import type { Pool } from "../../../core/db/client.ts";

export type MessageRow = { number: number; chat_number: number; body: string; created_at: number; updated_at: number; version: number };

type Raw = { number: number; chat_number: number; body: string; created_at: Date; updated_at: Date; version: number };

const SELECT = "SELECT number, chat_number, body, created_at, updated_at, version FROM messages WHERE application_id = ? AND chat_number = ? AND deleted_at IS NULL";

const fromRaw = (r: Raw): MessageRow => ({ ...r, created_at: r.created_at.getTime(), updated_at: r.updated_at.getTime(), version: Number(r.version) });

export function messageRows(pool: Pool) {
  const query = (sql: string, params: unknown[]) =>
    new Promise<MessageRow[]>((resolve, reject) =>
      pool.pool.query(sql, params, (error, rows) => (error ? reject(error) : resolve((rows as Raw[]).map(fromRaw)))),
    );
  return {
    /** The live message `n` of a chat, if persisted. */
    async one(appId: number, chat: number, n: number): Promise<MessageRow | undefined> {
      return (await query(`${SELECT} AND number = ?`, [appId, chat, n]))[0];
    },
    /** Up to `count` live messages after `after` (exclusive) and up to `bound` (inclusive), in `order`. */
    page(appId: number, chat: number, order: "asc" | "desc", after: number | undefined, bound: number | undefined, count: number): Promise<MessageRow[]> {
      const params: unknown[] = [appId, chat];
      let sql = SELECT;
      if (after !== undefined) (sql += order === "asc" ? " AND number > ?" : " AND number < ?"), params.push(after);
      if (bound !== undefined) (sql += order === "asc" ? " AND number <= ?" : " AND number >= ?"), params.push(bound);
      params.push(count);
      return query(`${sql} ORDER BY number ${order === "asc" ? "ASC" : "DESC"} LIMIT ?`, params);
    },
  };
}
