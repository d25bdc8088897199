/**
 * The stream shards as the growth bench sees them: how far both consumer groups are (the same reading
 * as run.ts's streamState), waiting until they have read and acknowledged everything, and dropping
 * what a measured wrk run queued before any worker reads it.
 */
import type { RedisClient } from "../../core/redis/client.ts";
import type { Keys } from "../../core/keys.ts";

const GROUPS = ["mysql", "search"] as const;
const record = (row: unknown[]) => Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [String(row[2 * i]), row[2 * i + 1]]));

/** Per group: entries still to read or acknowledge; done once every shard is read to its last id, nothing pending. */
export async function groupsState(redis: RedisClient, keys: Keys) {
  const state = Object.fromEntries(GROUPS.map((g) => [g, { remaining: 0, done: true }])) as Record<(typeof GROUPS)[number], { remaining: number; done: boolean }>;
  for (const stream of keys.streams()) {
    const rows = ((await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][]).map(record);
    const info = record((await redis.xinfo("STREAM", stream).catch(() => [])) as unknown[]);
    const last = String(info["last-generated-id"] ?? "0-0");
    const length = Number(info.length ?? 0);
    for (const group of GROUPS) {
      const row = rows.find((r) => r.name === group);
      const s = state[group];
      if (!row) {
        s.remaining += length;
        s.done &&= last === "0-0";
        continue;
      }
      s.remaining += Number(row.pending) + (row.lag === null || row.lag === undefined ? length : Number(row.lag));
      s.done &&= Number(row.pending) === 0 && String(row["last-delivered-id"]) === last;
    }
  }
  return state;
}

/** Waits until both groups are done; throws when the backlog has not moved for `stallMs`. */
export async function waitDrained(redis: RedisClient, keys: Keys, log: (msg: string) => void, stallMs = 120_000) {
  let last = -1;
  let moved = Date.now();
  let said = Date.now();
  for (;;) {
    const { mysql, search } = await groupsState(redis, keys);
    if (mysql.done && search.done) return;
    const remaining = mysql.remaining + search.remaining;
    if (remaining !== last) (last = remaining), (moved = Date.now());
    if (Date.now() - moved > stallMs) {
      throw new Error(`draining stalled: nothing moved for ${stallMs / 1000} s (left: mysql ${mysql.remaining}, search ${search.remaining}); is the worker failing? (see its log above)`);
    }
    if (Date.now() - said > 10_000) (said = Date.now()), log(`  draining: mysql ${mysql.remaining.toLocaleString("en-US")}, search ${search.remaining.toLocaleString("en-US")} left`);
    await Bun.sleep(200);
  }
}

/** Entries still held by the stream shards (acknowledged ones go when a worker trims). */
export async function streamLength(redis: RedisClient, keys: Keys) {
  let total = 0;
  for (const stream of keys.streams()) total += await redis.xlen(stream);
  return total;
}

/**
 * Drops what a measured wrk run queued, unread by any worker (nothing else is unread: the caller drained
 * before the run): each shard is emptied and both groups are moved to its last id; the pending
 * overlays of the chats written to go. Their counters stay ahead (those numbers are never persisted).
 */
export async function dropQueued(redis: RedisClient, keys: Keys, overlays: string[]) {
  for (const stream of keys.streams()) {
    await redis.xtrim(stream, "MAXLEN", 0);
    for (const group of GROUPS) await redis.xgroup("SETID", stream, group, "$");
  }
  if (overlays.length) await redis.unlink(...overlays);
}
