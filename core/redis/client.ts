import Redis, { type ChainableCommander, type RedisOptions } from "ioredis";
import { defineScripts } from "./scripts.ts";

export type RedisClient = Redis;

/**
 * A Redis connection with our Lua scripts defined on it. Commands fail fast while Redis is
 * unreachable (no offline queue), so the API answers 503 instead of hanging. RESP2: replies are
 * read as flat arrays (XINFO, XREADGROUP, script replies), as they always were.
 */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const redis = new Redis(url, {
    protocol: 2,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 3000,
    lazyConnect: false,
    ...options,
  });
  redis.on("error", () => {
    // Reconnects are automatic; a failed command surfaces the error where it is awaited.
  });
  defineScripts(redis);
  return redis;
}

/** Resolves once connected; rejects after `timeoutMs`, or at the first connection error when `failFast`. */
export async function waitReady(redis: Redis, timeoutMs = 5000, failFast = false): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("error", onError);
      error ? reject(error) : resolve();
    };
    const onReady = () => settle();
    const onError = (error: Error) => failFast && settle(error);
    const timer = setTimeout(() => settle(new Error("Redis did not become ready")), timeoutMs);
    redis.on("ready", onReady);
    redis.on("error", onError);
  });
}

/** Runs a pipeline and returns its replies in order; the first failed command's error is thrown. */
export async function execAll(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = (await pipeline.exec()) ?? [];
  for (const [error] of results) if (error) throw error;
  return results.map(([, reply]) => reply);
}
