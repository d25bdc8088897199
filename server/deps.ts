import type { Client as Elasticsearch } from "@elastic/elasticsearch";
import type { Config } from "../core/config.ts";
import type { Db, Pool } from "../core/db/client.ts";
import type { Keys } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import type { RedisClient } from "../core/redis/client.ts";
import type { Scripts } from "../core/redis/scripts.ts";
import type { Metrics } from "./features/ops/metrics.ts";
import type { WebClient } from "./features/web/build.ts";

/** What the features are built from; main.ts and the tests make one. */
export type Deps = {
  config: Config;
  /** DATABASE_URL: every write, and the reads that decide one (re-seeding counters, a row to update). */
  db: Db;
  pool: Pool;
  /**
   * DATABASE_READ_URL (else the same as db): GETs and lists of chats and messages. A replica may lag;
   * the overlay covers that, as the MySQL sink releases an entry only once the replica holds it.
   */
  readDb: Db;
  readPool: Pool;
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
  /** The web client's files, bundled when the process started. */
  web: WebClient;
};
