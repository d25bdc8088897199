import type { Client as Elasticsearch } from "@elastic/elasticsearch";
import type { Config } from "../core/config.ts";
import type { Db, Pool } from "../core/db/client.ts";
import type { Keys } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import type { RedisClient } from "../core/redis/client.ts";
import type { Scripts } from "../core/redis/scripts.ts";
import type { Metrics } from "./features/ops/metrics.ts";

/** What the features are built from; main.ts and the tests make one. */
export type Deps = {
  config: Config;
  db: Db;
  pool: Pool;
  redis: RedisClient;
  /** The Lua scripts over `redis`, one typed function each. */
  scripts: Scripts;
  /** A second connection for pub/sub (a subscribed connection can run nothing else). */
  subscriber: RedisClient;
  es: Elasticsearch;
  keys: Keys;
  log: Logger;
  /** The process's Prometheus registry. */
  metrics: Metrics;
};
