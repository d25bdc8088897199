/**
 * The messages reads every GET and list page makes, as plain SQL on the pool's callback API. A read
 * is one MySQL round trip either way; building it with the query builder and awaiting it through
 * the promise wrapper (which captures a stack per query) cost more API CPU than the round trip.
 * Keyset pages only (SPEC §3.2): `number` after the cursor, up to a bound, never OFFSET.
 */
import type { Pool } from "../../../core/db/client.ts";
import { isoFromSql } from "../../common/models.ts";

/** A message as read, its times already ISO-8601 (the form every answer sends). */
export type MessageRow = { number: number; chat_number: number; body: string; created_at: string; updated_at: string; version: number };

type Raw = { number: number; chat_number: number; body: string; created_at: string; updated_at: string; version: number | string };

const SELECT = "SELECT number, chat_number, body, created_at, updated_at, version FROM messages WHERE application_id = ? AND chat_number = ? AND deleted_at IS NULL";

const fromRaw = (r: Raw): MessageRow => ({ number: r.number, chat_number: r.chat_number, body: r.body, created_at: isoFromSql(r.created_at), updated_at: isoFromSql(r.updated_at), version: Number(r.version) });

export function messageRows(pool: Pool) {
  const query = (sql: string, params: unknown[]) =>
    new Promise<MessageRow[]>((resolve, reject) =>
      // Times as MySQL's text: a Date per field and its toISOString cost more than the page's JSON.
      pool.pool.query({ sql, values: params, dateStrings: true }, (error, rows) => (error ? reject(error) : resolve((rows as Raw[]).map(fromRaw)))),
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
