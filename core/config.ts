/**
 * Environment → typed configuration. Every setting has a working local default; an invalid value
 * stops the process at start with one clear message naming the variable.
 */

import { hostname } from "node:os";

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function read(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? fallback : raw.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name, String(fallback));
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = read(env, name, fallback);
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(" or ")}, got ${parsed.protocol}`);
  }
  return raw;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name, String(fallback)).toLowerCase();
  if (!["true", "false", "1", "0"].includes(raw)) throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return raw === "true" || raw === "1";
}

/** WEBHOOK_RETRY_SCHEDULE: comma-separated seconds, e.g. "5,300,1800". */
function retrySchedule(raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim());
  if (!parts.every((p) => /^\d{1,7}(\.\d{1,3})?$/.test(p)) || parts.length > 50) {
    throw new ConfigError(`WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds (at most 50), got "${raw}"`);
  }
  return parts.map(Number);
}

/** REDIS_CLUSTER_NODES: "host:port,host:port,…"; null when unset. */
function clusterNodes(env: Env): { host: string; port: number }[] | null {
  const raw = env.REDIS_CLUSTER_NODES?.trim();
  if (!raw) return null;
  return raw.split(",").map((node) => {
    const match = /^\s*([^:\s]+):(\d{1,5})\s*$/.exec(node);
    if (!match || Number(match[2]) > 65535) throw new ConfigError(`REDIS_CLUSTER_NODES must be host:port[,host:port…], got "${node.trim()}"`);
    return { host: match[1]!, port: Number(match[2]) };
  });
}

export function loadConfig(env: Env = process.env) {
  const logLevel = read(env, "LOG_LEVEL", "info");
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, silent; got "${logLevel}"`);
  }
  const adminKey = env.ADMIN_API_KEY?.trim() || null;
  const rateLimit = env.RATE_LIMIT_PER_MINUTE?.trim() ? int(env, "RATE_LIMIT_PER_MINUTE", 0, 1, 10_000_000) : null;
  return {
    port: int(env, "PORT", 3000, 0, 65535),
    databaseUrl: url(env, "DATABASE_URL", "mysql://chat:chat@127.0.0.1:3306/chat", ["mysql:"]),
    databasePoolSize: int(env, "DATABASE_POOL_SIZE", 10, 1, 500),
    /** A read replica of DATABASE_URL for the API's GETs and lists of chats and messages; null: none. */
    databaseReadUrl: env.DATABASE_READ_URL?.trim() ? url(env, "DATABASE_READ_URL", "", ["mysql:"]) : null,
    /** With DATABASE_READ_URL: how long the MySQL sink waits for the replica to apply a batch before retrying it. */
    databaseReadWaitTimeoutMs: int(env, "DATABASE_READ_WAIT_TIMEOUT_MS", 5000, 100, 60_000),
    redisUrl: url(env, "REDIS_URL", "redis://127.0.0.1:6379/0", ["redis:", "rediss:"]),
    /** Seed nodes of a Redis Cluster; when set, every process uses it and REDIS_URL is ignored. */
    redisClusterNodes: clusterNodes(env),
    /** Replicas that must hold each accepted create, update or delete before the API answers (WAIT). */
    redisWaitReplicas: int(env, "REDIS_WAIT_REPLICAS", 0, 0, 16),
    redisWaitTimeoutMs: int(env, "REDIS_WAIT_TIMEOUT_MS", 50, 1, 60_000),
    elasticsearchUrl: url(env, "ELASTICSEARCH_URL", "http://127.0.0.1:9200", ["http:", "https:"]),
    /** Alias that the API searches and the worker writes; the concrete index is versioned behind it. */
    searchIndex: read(env, "SEARCH_INDEX", "messages"),
    searchRefreshInterval: read(env, "SEARCH_REFRESH_INTERVAL", "1s"),
    /** Primary shards of a new search index: fixed once the index exists (a new count needs a new index). */
    searchShards: int(env, "SEARCH_SHARDS", 1, 1, 1024),
    /** Copies of each shard; `migrate` applies a new count to the existing index in place. */
    searchReplicas: int(env, "SEARCH_REPLICAS", 0, 0, 32),
    /** Number of Redis stream shards; changing it on a live system re-maps applications. */
    streamShards: int(env, "STREAM_SHARDS", 4, 1, 1024),
    adminApiKey: adminKey,
    /** Requests per minute per application token; null turns rate limiting off. */
    rateLimitPerMinute: rateLimit,
    /** Live events kept per chat for resuming with Last-Event-ID: at most this many, for this long. */
    eventLogLength: int(env, "EVENT_LOG_LENGTH", 1000, 10, 1_000_000),
    eventLogTtlSeconds: int(env, "EVENT_LOG_TTL_SECONDS", 3600, 10, 30 * 86_400),
    /** Comment lines on idle event streams, well inside Bun's 10 s idle timeout. */
    sseKeepAliveMs: int(env, "SSE_KEEPALIVE_MS", 5000, 100, 9000),
    webhooks: {
      /** A delivery not answered 2xx within this is a failure (SPEC §5.7). */
      timeoutMs: int(env, "WEBHOOK_TIMEOUT_MS", 10_000, 100, 120_000),
      /** Seconds before each retry; after the last one a delivery is dead-lettered. */
      retrySchedule: retrySchedule(read(env, "WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000")),
      /** Endpoints on loopback, private, link-local or metadata addresses (local development, tests). */
      allowPrivateUrls: bool(env, "WEBHOOK_ALLOW_PRIVATE_URLS", false),
      /** Deliveries in flight per worker, and at most this many to one endpoint (1 while its attempts fail). */
      concurrency: int(env, "WEBHOOK_CONCURRENCY", 128, 1, 10_000),
      perEndpointConcurrency: int(env, "WEBHOOK_ENDPOINT_CONCURRENCY", 16, 1, 1000),
      /** How often a worker looks for due retries and deliveries left by a worker that died. */
      pollMs: int(env, "WEBHOOK_POLL_MS", 250, 10, 60_000),
    },
    logLevel: logLevel as "debug" | "info" | "warn" | "error" | "silent",
    worker: {
      sinks: read(env, "WORKER_SINKS", "mysql,search,webhooks").split(",").map((s) => s.trim()).filter(Boolean),
      consumerName: read(env, "WORKER_NAME", `${hostname()}-${process.pid}`),
      batchSize: int(env, "WORKER_BATCH_SIZE", 2000, 1, 10_000),
      blockMs: int(env, "WORKER_BLOCK_MS", 1000, 10, 60_000),
      /** A pending entry idle this long belongs to a consumer presumed dead and is claimed. */
      claimIdleMs: int(env, "WORKER_CLAIM_IDLE_MS", 30_000, 100, 3_600_000),
      /** Deliveries after which an entry that keeps failing goes to the dead-letter stream. */
      maxDeliveries: int(env, "WORKER_MAX_DELIVERIES", 5, 1, 1000),
      retryBaseMs: int(env, "WORKER_RETRY_BASE_MS", 200, 1, 60_000),
      retryMaxMs: int(env, "WORKER_RETRY_MAX_MS", 10_000, 1, 600_000),
      trimIntervalMs: int(env, "WORKER_TRIM_INTERVAL_MS", 10_000, 100, 3_600_000),
      /** After SIGTERM, how long the batch in hand may keep failing before the worker exits anyway. */
      stopTimeoutMs: int(env, "WORKER_STOP_TIMEOUT_MS", 8000, 0, 60_000),
      reconcileIntervalMs: int(env, "WORKER_RECONCILE_INTERVAL_MS", 300_000, 1000, 86_400_000),
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;

/** For a process entry: the configuration, or one clear line naming the variable and exit 2. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
}
