/** Direct handles on the test services, for assertions the HTTP API cannot make (what MySQL holds). */
import mysql from "mysql2/promise";
import { createRedis, type RedisClient } from "../../core/redis/client.ts";
import { loadConfig } from "../../core/config.ts";
import { groups, keysFor } from "../../core/keys.ts";
import { compareStreamIds } from "../../core/events.ts";

export const config = loadConfig();
export const keys = keysFor(config.streamShards);

let pool: mysql.Pool | undefined;
export function db() {
  pool ??= mysql.createPool({ uri: config.databaseUrl, connectionLimit: 4, timezone: "Z" });
  return pool;
}

let redis: RedisClient | undefined;
/** The test run's Redis: one server, or the cluster when REDIS_CLUSTER_NODES is set. */
export function redisClient(): RedisClient {
  redis ??= createRedis(config, { enableOfflineQueue: true, maxRetriesPerRequest: 20 });
  return redis;
}

export async function rows<T = Record<string, any>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await db().query(sql, params);
  return result as T[];
}

export async function appId(token: string): Promise<number> {
  const [row] = await rows<{ id: number }>("SELECT id FROM applications WHERE token = ?", [token]);
  if (!row) throw new Error("no such application");
  return Number(row.id);
}

/** XINFO of a stream (or group) that does not exist is nothing to wait for; any other error is. */
function noneWhenMissing(error: unknown): [] {
  if (/no such key|NOGROUP/i.test(String(error))) return [];
  throw error;
}

/** Resolves when the given group has read and acknowledged every entry of every shard. */
export async function drained(group: string = groups.mysql, timeoutMs = 30_000, redis: RedisClient = redisClient()): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Right after a failover a read can fail (a cluster client's auto-pipelined MOVED before its slot map
  // is refreshed): that poll counts as busy, and the next one asks again.
  let lastError: unknown;
  while (Date.now() < deadline) {
    let busy = false;
    for (const stream of keys.streams()) try {
      const info = (await redis.xinfo("GROUPS", stream).catch(noneWhenMissing)) as unknown[][];
      // Entries but no group yet (a flushed Redis): the worker has not re-created it.
      if (!info.some((row) => row[1] === group) && (await redis.xlen(stream)) > 0) busy = true;
      const last = info.length ? String(((await redis.xinfo("STREAM", stream).catch(noneWhenMissing)) as unknown[]).find((_, i, a) => a[i - 1] === "last-generated-id") ?? "0-0") : "0-0";
      for (const row of info) {
        const record: Record<string, unknown> = {};
        for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
        if (record.name !== group) continue;
        // Read up to the stream's last entry, by id: a group's lag counter can be wrong after a failover.
        if (Number(record.pending) > 0 || compareStreamIds(String(record["last-delivered-id"]), last) < 0) busy = true;
      }
    } catch (error) {
      busy = true;
      lastError = error;
    }
    if (!busy) return;
    await Bun.sleep(50);
  }
  throw new Error(`group ${group} did not drain within ${timeoutMs} ms${lastError ? ` (last Redis error: ${lastError})` : ""}`);
}

/** The search group has indexed everything and the index is refreshed: what was posted is searchable. */
export async function searchable(timeoutMs = 30_000): Promise<void> {
  await drained(groups.search, timeoutMs);
  const res = await fetch(`${config.elasticsearchUrl}/${config.searchIndex}/_refresh`, { method: "POST" });
  if (!res.ok) throw new Error(`refresh failed: ${res.status}`);
}

/** Entries a consumer of `group` has read and not acknowledged, over every shard. */
export async function pendingOf(group: string, consumer: string): Promise<number> {
  let total = 0;
  for (const stream of keys.streams()) {
    const consumers = (await redisClient().xinfo("CONSUMERS", stream, group).catch(noneWhenMissing)) as unknown[][];
    for (const row of consumers) {
      const record: Record<string, unknown> = {};
      for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
      if (record.name === consumer) total += Number(record.pending);
    }
  }
  return total;
}
