/**
 * What the growth bench does to the stream shards beyond reading them (../streams.ts): their length,
 * and dropping what a measured wrk run queued before any worker reads it.
 */
import type { RedisClient } from "../../core/redis/client.ts";
import type { Keys } from "../../core/keys.ts";

const GROUPS = ["mysql", "search"] as const;

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
