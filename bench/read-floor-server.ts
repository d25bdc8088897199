/**
 * A minimal program for the get / list rows, outside the API's code: bare Elysia, one ioredis
 * pipeline (two HGETs and a ZRANGE, as the API's chat check and overlay read), one mysql2 pool query
 * (the API's SELECT), the row or page as JSON. No hooks, no overlay merge, no response schema. Run it
 * beside the API on the bench's data (`bun bench/read-floor-server.ts`, with the bench's DATABASE_URL
 * and REDIS_URL, PORT) and send it the same open-loop load:
 *   GET /min/<token>/<chat>/messages/<n>   and   GET /min/<token>/<chat>/messages
 * What the API's p99 shares with this program is Bun, Elysia, ioredis, mysql2, Redis and MariaDB on
 * the same two cores (bench/README.md, "The read rows' floor"). APP_ID: the application's id in
 * MySQL (default 1). `bun run bench` runs it beside the get / list rows (reads.ts).
 */
import { Elysia } from "elysia";
import Redis from "ioredis";
import mysql from "mysql2";

const redis = new Redis(process.env.REDIS_URL!);
const pool = mysql.createPool({ uri: process.env.DATABASE_URL!, connectionLimit: 10, timezone: "Z", charset: "utf8mb4_bin", supportBigNumbers: true });
const APP_ID = Number(process.env.APP_ID ?? 1);
const SELECT = "SELECT number, chat_number, body, created_at, updated_at, version FROM messages WHERE application_id = ? AND chat_number = ? AND deleted_at IS NULL";
type Row = { number: number; chat_number: number; body: string; created_at: Date; updated_at: Date };
const query = (sql: string, params: unknown[]) => new Promise<Row[]>((resolve, reject) => pool.query(sql, params, (e, rows) => (e ? reject(e) : resolve(rows as Row[]))));
const out = (r: Row) => ({ number: r.number, chat_number: r.chat_number, body: r.body, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() });
const check = (token: string, chat: string, read: (p: ReturnType<Redis["pipeline"]>) => ReturnType<Redis["pipeline"]>) =>
  read(redis.pipeline().hget(`app:{${token}}`, "id").hget(`chat:{${token}}:${chat}`, "deleted")).exec();

new Elysia()
  .get("/min/:token/:chat/messages/:n", async ({ params: p }) => {
    await check(p.token, p.chat, (pipe) => pipe.zrange(`overlay:{${p.token}}:${p.chat}`, p.n, p.n, "BYSCORE", "WITHSCORES"));
    const [row] = await query(`${SELECT} AND number = ?`, [APP_ID, Number(p.chat), Number(p.n)]);
    return row ? out(row) : null;
  })
  .get("/min/:token/:chat/messages", async ({ params: p }) => {
    await check(p.token, p.chat, (pipe) => pipe.zrange(`overlay:{${p.token}}:${p.chat}`, "+inf", "-inf", "BYSCORE", "REV", "LIMIT", 0, 26, "WITHSCORES"));
    const rows = await query(`${SELECT} ORDER BY number DESC LIMIT ?`, [APP_ID, Number(p.chat), 26]);
    return { data: rows.slice(0, 25).map(out), next_cursor: rows.length > 25 ? "next" : null };
  })
  .listen(Number(process.env.PORT ?? 3943));
