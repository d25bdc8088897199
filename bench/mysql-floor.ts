/**
 * The complete MySQL drain floor (issue 13): everything SPEC §4 asks of draining creates into MySQL,
 * written flat in one file outside the worker's code, as cheaply as we know how. The bench runs it in
 * the drain rounds beside our worker ("… vs the complete floor").
 *
 * It fills its own stream with FLOOR_MESSAGES `message.created` entries in the worker's format (one
 * field: the header and the body, as the create script writes them) and its own pending overlay (a sorted
 * set scored by number, member "version|+body", as the create script writes it), in Redis db 3,
 * beside scratch tables shaped like `chats` and `messages`. Then it logs "floor ready" and drains
 * the stream with one consumer group: XREADGROUP of 2,000 (the next batch read while the current one
 * is written, as the worker does), and per batch one transaction: the chats locked (FOR UPDATE), the
 * rows written in one multi-row INSERT that keeps the newer version on a redelivery (ON DUPLICATE
 * KEY UPDATE, last writer wins), each chat's count moved by the rows that were new; after the commit,
 * the overlay entries persisted at their version released by one script call per chat, and XACK,
 * both while the next batch is written. It logs "floor drained" once the group holds nothing
 * pending, and on SIGTERM removes its keys and tables and exits.
 *
 *   FLOOR_MESSAGES=100000 bun bench/mysql-floor.ts    (DATABASE_URL, REDIS_URL as the bench sets them)
 */
// As in the worker: without it ioredis traces every command on Bun, listened to or not (the shim's comment says why).
import "../core/runtime/tracing-channel.ts";
import Redis from "ioredis";
import mysql from "mysql2/promise";

const count = Number(process.env.FLOOR_MESSAGES ?? 100_000);
const BATCH = 2000;
// The bench passes FLOOR_STREAM (drains.ts): it watches the group "floor" there.
const stream = process.env.FLOOR_STREAM ?? "mysqlfloor:{f}:stream";
const overlay = "mysqlfloor:{f}:overlay";
const group = "floor";
const [APP, TOKEN, CHAT] = [1, "f".repeat(32), 1];
const body = (i: number) => `floor message ${i} zulu${i % 1000}`;

const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true });
const conn = await mysql.createConnection({ uri: process.env.DATABASE_URL, timezone: "Z" });

// Removes the overlay entries whose version is not newer than the one persisted, reading the
// numbers' range in windows and dropping each run of removable entries with one command. The pairs
// come as differences from the pair before (as the worker's release_pending.lua takes them).
redis.defineCommand("floorRelease", {
  numberOfKeys: 1,
  lua: `
local persisted, lo, hi, n, v = {}, nil, nil, 0, 0
for dn, dv in string.gmatch(ARGV[1], '(-?%d+):(-?%d+)') do
  n = n + tonumber(dn); v = v + tonumber(dv); persisted[n] = v
  if not lo or n < lo then lo = n end
  if not hi or n > hi then hi = n end
end
if not lo then return 0 end
local removed, first, last, from = 0, nil, nil, lo
repeat
  local entries = redis.call('ZRANGE', KEYS[1], from, hi, 'BYSCORE', 'LIMIT', 0, 256, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local n = tonumber(entries[i + 1])
    local v = persisted[n]
    if v and tonumber(string.match(entries[i], '^(%d+)|')) <= v then
      first = first or n; last = n; removed = removed + 1
    elseif first then
      redis.call('ZREMRANGEBYSCORE', KEYS[1], first, last); first = nil
    end
    from = '(' .. entries[i + 1]
  end
until #entries < 512
if first then redis.call('ZREMRANGEBYSCORE', KEYS[1], first, last) end
return removed`,
});
const release = (persisted: string) => (redis as unknown as { floorRelease(key: string, arg: string): Promise<number> }).floorRelease(overlay, persisted);

async function fill() {
  await redis.del(stream, overlay);
  await conn.query("DROP TABLE IF EXISTS bench_floor_messages, bench_floor_chats");
  await conn.query("CREATE TABLE bench_floor_chats LIKE chats");
  await conn.query("CREATE TABLE bench_floor_messages LIKE messages");
  await conn.query("INSERT INTO bench_floor_chats (application_id, number, name, messages_count, version, created_at, updated_at) VALUES (?, ?, 'floor', 0, 1, NOW(3), NOW(3))", [APP, CHAT]);
  const ms = Date.now();
  for (let i = 0; i < count; i += BATCH) {
    const pipeline = redis.pipeline();
    for (let k = i; k < Math.min(count, i + BATCH); k++) {
      const version = ms * 1000 + k;
      pipeline.xadd(stream, "*", "e", `message.created|${APP}|${TOKEN}|${CHAT}|${k + 1}|${version}|${ms}|${ms}||${body(k)}`);
      pipeline.zadd(overlay, k + 1, `${version}|+${body(k)}`);
    }
    await pipeline.exec();
  }
  await redis.xgroup("CREATE", stream, group, "0");
}

type Row = { app: number; chat: number; number: number; version: number; created: number; updated: number; body: string };
type Entries = [string, string[]][];

const read = async (): Promise<Entries> => ((await redis.xreadgroup("GROUP", group, "c1", "COUNT", BATCH, "STREAMS", stream, ">")) as [string, Entries][] | null)?.[0]?.[1] ?? [];

// A DATETIME(3) literal, the last one reused (a batch's creates come many to the millisecond).
let lastMs = NaN;
let lastLiteral = "";
const datetime = (ms: number) => {
  if (ms === lastMs) return lastLiteral;
  const iso = new Date(ms).toISOString();
  lastMs = ms;
  return (lastLiteral = `'${iso.slice(0, 10)} ${iso.slice(11, 23)}'`);
};

function parse(entries: Entries): Row[] {
  return entries.map(([, fields]) => {
    // The header's nine parts, then the body (which may hold "|" itself).
    const entry = fields[1]!;
    let end = -1;
    for (let i = 0; i < 9; i++) end = entry.indexOf("|", end + 1);
    const [, app, , chat, number, version, created, updated] = entry.slice(0, end).split("|");
    return { app: Number(app), chat: Number(chat), number: Number(number), version: Number(version), created: Number(created), updated: Number(updated), body: entry.slice(end + 1) };
  });
}

/** One transaction: chats locked, rows written (newer version wins), counts moved by the new rows. */
async function write(rows: Row[]) {
  const byChat = new Map<string, Row[]>();
  for (const row of rows) {
    const key = `${row.app}:${row.chat}`;
    const list = byChat.get(key);
    if (list) list.push(row);
    else byChat.set(key, [row]);
  }
  await conn.query("BEGIN");
  try {
    for (const list of byChat.values()) {
      const { app, chat } = list[0]!;
      await conn.query(`SELECT messages_count FROM bench_floor_chats WHERE application_id = ${app} AND number = ${chat} FOR UPDATE`);
      let text = "";
      for (const r of list) {
        text += `${text ? "," : ""}(${r.app},${r.chat},${r.number},${mysql.escape(r.body)},${r.version},NULL,${datetime(r.created)},${datetime(r.updated)})`;
      }
      const [result] = (await conn.query(
        `INSERT INTO bench_floor_messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ${text}
         ON DUPLICATE KEY UPDATE body = IF(VALUES(version) > version, VALUES(body), body), updated_at = IF(VALUES(version) > version, VALUES(updated_at), updated_at), version = GREATEST(version, VALUES(version))`,
      )) as unknown as [{ info: string }];
      // "Records: N  Duplicates: D": the new rows are N - D.
      const [, records, duplicates] = result.info.match(/Records: (\d+)\s+Duplicates: (\d+)/) ?? [, String(list.length), "0"];
      const added = Number(records) - Number(duplicates);
      if (added) await conn.query(`UPDATE bench_floor_chats SET messages_count = messages_count + ${added} WHERE application_id = ${app} AND number = ${chat}`);
    }
    await conn.query("COMMIT");
  } catch (error) {
    await conn.query("ROLLBACK");
    throw error;
  }
  return byChat;
}

async function drain() {
  let inHand = await read();
  let settling: Promise<unknown> | undefined;
  while (inHand.length) {
    const ahead = inHand.length >= BATCH ? read() : undefined;
    const byChat = await write(parse(inHand));
    const ids = inHand.map(([id]) => id);
    await settling;
    settling = (async () => {
      for (const list of byChat.values()) await release(list.map((r, i) => (i ? `${r.number - list[i - 1]!.number}:${r.version - list[i - 1]!.version}` : `${r.number}:${r.version}`)).join(","));
      await redis.xack(stream, group, ...ids);
    })();
    inHand = ahead ? await ahead : await read();
  }
  await settling;
}

await fill();
console.log(JSON.stringify({ msg: "floor ready", messages: count }));
await drain();
const [pending] = (await redis.xpending(stream, group)) as [number];
const [[persisted]] = (await conn.query("SELECT COUNT(*) AS n FROM bench_floor_messages")) as unknown as [[{ n: number }]];
const left = await redis.zcard(overlay);
console.log(JSON.stringify({ msg: "floor drained", pending, persisted: Number(persisted.n), overlayLeft: left }));

process.on("SIGTERM", async () => {
  await redis.del(stream, overlay);
  await conn.query("DROP TABLE IF EXISTS bench_floor_messages, bench_floor_chats");
  await conn.end();
  redis.disconnect();
  process.exit(0);
});
