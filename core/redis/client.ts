import "../runtime/tracing-channel.ts";
import Redis, { Cluster, type ChainableCommander, type RedisOptions } from "ioredis";
import { defineScripts } from "./scripts.ts";

/** One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES): the same commands, routed by key. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the configuration's REDIS_URL, or its cluster seed nodes when set. */
export type RedisTarget = { redisUrl: string; redisClusterNodes: { host: string; port: number }[] | null };

/**
 * A Redis connection (or cluster client) with our Lua scripts defined on it. Commands fail fast
 * while Redis is unreachable (no offline queue), so the API answers 503 instead of hanging. RESP2:
 * replies are read as flat arrays (XINFO, XREADGROUP, script replies), as they always were.
 */
export function createRedis(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  // Auto-pipelining: the commands issued in one event-loop tick (many requests' scripts under load)
  // leave in one socket write instead of one write each; order and replies are unchanged.
  const redisOptions: RedisOptions = { protocol: 2, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000, lazyConnect: false, enableAutoPipelining: true, ...options };
  const redis: RedisClient = target.redisClusterNodes
    ? new Cluster(target.redisClusterNodes, {
        redisOptions,
        enableOfflineQueue: redisOptions.enableOfflineQueue,
        enableAutoPipelining: redisOptions.enableAutoPipelining,
        // Writes and reads go to masters: a replica may not have a write yet (read-your-writes).
        scaleReads: "master",
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        maxRedirections: 16,
      })
    : new Redis(target.redisUrl, redisOptions);
  redis.on("error", () => {
    // Reconnects are automatic; a failed command surfaces the error where it is awaited.
  });
  defineScripts(redis);
  return redis;
}

/** Resolves once connected; rejects after `timeoutMs`, or at the first connection error when `failFast`. */
export async function waitReady(redis: RedisClient, timeoutMs = 5000, failFast = false): Promise<void> {
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

/** Empties the Redis database, or every master of a cluster (tests and the bench only). */
export async function flushAll(redis: RedisClient): Promise<void> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes("master") : [redis];
  await Promise.all(nodes.map((node) => node.flushdb()));
}
