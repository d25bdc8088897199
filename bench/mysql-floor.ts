/**
 * A minimal stream-fed MySQL sink, outside the worker's code, for profiling the MySQL drain by
 * comparison (issue 13): ioredis reads a stream with XREADGROUP in batches of 2,000, mysql2 writes
 * each batch as one multi-row INSERT (500 rows per statement, as the raw baseline), then XACK. No
 * decoding into events, no locks, no counts, no overlay. Beside it, in the same run, the raw INSERT
 * alone. Not run by `bun run bench`:
 *   bun bench/mysql-floor.ts            (FLOOR_MESSAGES, default 100000)
 * Re-creates chat_bench as the bench does (it resets it at start too) and uses a scratch stream in
 * Redis db 3 and a scratch table there, both removed at the end.
 */
// As in the API: without it ioredis traces every command on Bun, listened to or not (the shim's comment says why).
import "../core/runtime/tracing-channel.ts";
import Redis from "ioredis";
import mysql from "mysql2/promise";
import { commands, meter, perOp, pidOfPort, sum } from "./cpu.ts";
import { recreateDatabase } from "./database.ts";
import { env, log, root } from "./harness.ts";
import { messageBody } from "./drains.ts";

const count = Number(process.env.FLOOR_MESSAGES ?? 100_000);
const stream = "bench-floor:stream";
await recreateDatabase({ checkout: root, databaseUrl: env.DATABASE_URL!, adminUrl: process.env.BENCH_DATABASE_ADMIN_URL || undefined, log });
const redis = new Redis(env.REDIS_URL!);
const conn = await mysql.createConnection({ uri: env.DATABASE_URL });
const pids = { redis: pidOfPort(6379, commands.redis), mysql: pidOfPort(3306, commands.mysql) };

async function fill() {
  await redis.del(stream);
  const now = String(Date.now());
  for (let i = 0; i < count; i += 2000) {
    const pipeline = redis.pipeline();
    for (let k = i; k < Math.min(count, i + 2000); k++) {
      // The fields of a real message.created event (_event.lua, core/events.ts).
      pipeline.xadd(stream, "*", "h", `message.created|1|${"t".repeat(32)}|51|${k + 1}|${now}|${now}|${now}|`, "b", messageBody(k));
    }
    await pipeline.exec();
  }
  await redis.xgroup("CREATE", stream, "floor", "0");
}

async function table() {
  await conn.query("DROP TABLE IF EXISTS bench_floor_messages");
  // The shape of the messages table (core/db/migrations).
  await conn.query(`CREATE TABLE bench_floor_messages (
    application_id bigint unsigned NOT NULL, chat_number int unsigned NOT NULL, number int unsigned NOT NULL, body text NOT NULL,
    version bigint unsigned NOT NULL, deleted_at datetime(3), created_at datetime(3) NOT NULL, updated_at datetime(3) NOT NULL,
    PRIMARY KEY (application_id, chat_number, number))`);
}

const rowsOf = (fields: string[], now: Date) => {
  const [, a, , c, n, v] = fields[1]!.split("|");
  return [Number(a), Number(c), Number(n), fields[3], Number(v), null, now, now];
};

async function streamFed() {
  await fill();
  await table();
  const cpu = meter({ client: process.pid, ...pids });
  const started = performance.now();
  let done = 0;
  while (done < count) {
    const reply = (await redis.xreadgroup("GROUP", "floor", "c1", "COUNT", 2000, "STREAMS", stream, ">")) as [string, [string, string[]][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    const now = new Date();
    for (let i = 0; i < entries.length; i += 500) {
      const rows = entries.slice(i, i + 500).map(([, fields]) => rowsOf(fields, now));
      await conn.query("INSERT INTO bench_floor_messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ?", [rows]);
    }
    await redis.xack(stream, "floor", ...entries.map(([id]) => id));
    done += entries.length;
  }
  const seconds = (performance.now() - started) / 1000;
  return { rate: count / seconds, used: cpu.stop() };
}

async function rawInsert() {
  await table();
  const now = new Date();
  const cpu = meter({ client: process.pid, mysql: pids.mysql });
  const started = performance.now();
  for (let i = 0; i < count; i += 500) {
    const rows = Array.from({ length: Math.min(500, count - i) }, (_, k) => [1, 51, i + k + 1, messageBody(i + k), 1, null, now, now]);
    await conn.query("INSERT INTO bench_floor_messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ?", [rows]);
  }
  const seconds = (performance.now() - started) / 1000;
  return { rate: count / seconds, used: cpu.stop() };
}

for (let round = 1; round <= 3; round++) {
  const order = round % 2 ? [streamFed, rawInsert] : [rawInsert, streamFed];
  for (const run of order) {
    const { rate, used } = await run();
    const parts = Object.entries(used).map(([name, s]) => `${name} ${perOp(s, count).toFixed(1)}`).join(", ");
    console.log(`round ${round} ${run.name.padEnd(10)} ${Math.round(rate).toLocaleString("en-US")} msgs/s, ${perOp(sum(used), count).toFixed(1)} µs/msg (${parts})`);
  }
}
await conn.query("DROP TABLE IF EXISTS bench_floor_messages");
await redis.del(stream);
await conn.end();
redis.disconnect();
