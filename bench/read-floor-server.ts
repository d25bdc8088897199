/**
 * A minimal program for the get / list rows, outside the API's code: bare Elysia, one ioredis
 * pipeline (two HGETs and a ZRANGE of the API's own keys, as its chat check and overlay read), one mysql2 pool query
 * (the API's SELECT), the row or page as JSON. No hooks, no overlay merge, no response schema. Run it
 * beside the API on the bench's data (`bun bench/read-floor-server.ts`, with the bench's DATABASE_URL
 * and REDIS_URL, PORT) and send it the same open-loop load:
 *   GET /min/<token>/<chat>/messages/<n>   and   GET /min/<token>/<chat>/messages
 * What the API's p99 shares with this program is Bun, Elysia, ioredis, mysql2, Redis and MariaDB on
 * the same two cores (bench/README.md, "The read rows' floor"). APP_ID: the application's id in
 * MySQL (default 1). `bun run bench` runs it beside the get / list rows (reads.ts).
 */
// As in the API: without it ioredis traces every command on Bun, listened to or not (the shim's comment says why).
import "../core/runtime/tracing-channel.ts";
import { Elysia } from "elysia";
import Redis from "ioredis";
import mysql from "mysql2";
import { keysFor } from "../core/keys.ts";

const redis = new Redis(process.env.REDIS_URL!);
const pool = mysql.createPool({ uri: process.env.DATABASE_URL!, connectionLimit: 10, timezone: "Z", charset: "utf8mb4_bin", supportBigNumbers: true });
const APP_ID = Number(process.env.APP_ID ?? 1);
// The API's own key names (only the names: what it reads is read here with plain commands).
const keys = keysFor(Number(process.env.STREAM_SHARDS ?? 4));
const SELECT = "SELECT number, chat_number, body, created_at, updated_at, version FROM messages WHERE application_id = ? AND chat_number = ? AND deleted_at IS NULL";
type Row = { number: number; chat_number: number; body: string; created_at: Date; updated_at: Date };
const query = (sql: string, params: unknown[]) => new Promise<Row[]>((resolve, reject) => pool.query(sql, params, (e, rows) => (e ? reject(e) : resolve(rows as Row[]))));
const out = (r: Row) => ({ number: r.number, chat_number: r.chat_number, body: r.body, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() });
const check = (token: string, chat: string, read: (p: ReturnType<Redis["pipeline"]>) => ReturnType<Redis["pipeline"]>) =>
  read(redis.pipeline().hget(keys.app(token), "id").hget(keys.chat(token, Number(chat)), "deleted")).exec();

new Elysia()
  .get("/min/:token/:chat/messages/:n", async ({ params: p, set }) => {
    await check(p.token, p.chat, (pipe) => pipe.zrange(keys.pending(p.token, Number(p.chat)), p.n, p.n, "BYSCORE", "WITHSCORES"));
    const [row] = await query(`${SELECT} AND number = ?`, [APP_ID, Number(p.chat), Number(p.n)]);
    // A wrong APP_ID must not pass for a fast answer.
    if (!row) return ((set.status = 404), { error: { code: "not_found", message: "message not found" } });
    return out(row);
  })
  .get("/min/:token/:chat/messages", async ({ params: p }) => {
    await check(p.token, p.chat, (pipe) => pipe.zrange(keys.pending(p.token, Number(p.chat)), "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 0, 26, "WITHSCORES"));
    const rows = await query(`${SELECT} ORDER BY number DESC LIMIT ?`, [APP_ID, Number(p.chat), 26]);
    return { data: rows.slice(0, 25).map(out), next_cursor: rows.length > 25 ? "next" : null };
  })
  .listen(Number(process.env.PORT ?? 3943));
