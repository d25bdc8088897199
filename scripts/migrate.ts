/**
 * `bun run migrate`: the MySQL schema (drizzle migrations, one process at a time under GET_LOCK),
 * the search index behind its alias, and the consumer groups of every stream shard.
 */
import { migrate } from "drizzle-orm/mysql2/migrator";
import { join } from "node:path";
import { loadConfig } from "../core/config.ts";
import { createDb } from "../core/db/client.ts";
import { groups, keysFor } from "../core/keys.ts";
import { createRedis, waitReady } from "../core/redis/client.ts";
import { createElasticsearch } from "../core/search/client.ts";
import { ensureSearchIndex } from "../core/search/index.ts";

export async function migrateAll(config = loadConfig(), log: (msg: string) => void = console.log) {
  const { db, pool } = createDb(config.databaseUrl, 2);
  const lock = await pool.getConnection();
  try {
    const [[row]] = (await lock.query("SELECT GET_LOCK('chat_migrate', 120) AS ok")) as unknown as [[{ ok: number }]];
    if (row?.ok !== 1) throw new Error("could not take the migration lock within 120 s");
    await migrate(db, { migrationsFolder: join(import.meta.dir, "../core/db/migrations") });
    log("mysql: schema up to date");
  } finally {
    await lock.query("SELECT RELEASE_LOCK('chat_migrate')").catch(() => {});
    lock.release();
    await pool.end();
  }

  const es = createElasticsearch(config.elasticsearchUrl);
  try {
    log(`elasticsearch: index ${config.searchIndex} ${await ensureSearchIndex(es, config)}`);
  } finally {
    await es.close();
  }

  // Groups must exist before the first event, or trimming could drop what a later group never saw.
  const redis = createRedis(config, { enableOfflineQueue: true });
  try {
    await waitReady(redis);
    const keys = keysFor(config.streamShards);
    for (const stream of keys.streams()) {
      for (const group of Object.values(groups)) {
        await redis.xgroup("CREATE", stream, group, "0", "MKSTREAM").catch((error: Error) => {
          if (!error.message.includes("BUSYGROUP")) throw error;
        });
      }
    }
    log(`redis: consumer groups ready on ${keys.streams().length} stream shards`);
  } finally {
    redis.disconnect();
  }
}

if (import.meta.main) {
  migrateAll().then(
    () => process.exit(0),
    (error) => {
      console.error(`migrate failed: ${error instanceof Error ? error.message : error}`);
      process.exit(1);
    },
  );
}
