/**
 * Empties the test database, Redis db and search index before `bun test` (test:all runs it, then
 * migrate). Refuses to touch anything whose name does not say "test".
 */
import mysql from "mysql2/promise";
import { createRedis, flushAll } from "../core/redis/client.ts";
import { loadConfig } from "../core/config.ts";
import { createElasticsearch } from "../core/search/client.ts";
import { INDEX_VERSION } from "../core/search/index.ts";

const config = loadConfig();
const database = new URL(config.databaseUrl).pathname.slice(1);
if (!database.includes("test") || !config.searchIndex.includes("test")) {
  throw new Error(`refusing to reset ${database} / ${config.searchIndex}: names must contain "test"`);
}

const conn = await mysql.createConnection({ uri: config.databaseUrl.replace(/\/[^/]*$/, "/") });
await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
await conn.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
await conn.end();

const redis = createRedis(config, { enableOfflineQueue: true });
if (config.redisClusterNodes) {
  if (!config.redisClusterNodes.every((n) => ["127.0.0.1", "localhost"].includes(n.host))) throw new Error("refusing to flush a Redis Cluster that is not on this machine");
} else if (new URL(config.redisUrl).pathname === "/0" || new URL(config.redisUrl).pathname === "") {
  throw new Error("refusing to flush Redis db 0: point REDIS_URL at a test db (e.g. /1)");
}
await flushAll(redis);
redis.disconnect();

const es = createElasticsearch(config.elasticsearchUrl);
const indices = new Set<string>([`${config.searchIndex}_v${INDEX_VERSION}`]);
try {
  const aliases = await es.indices.getAlias({ name: config.searchIndex });
  for (const index of Object.keys(aliases)) indices.add(index);
} catch {}
try {
  // Throwaway indices of tests/search/layout.test.ts, should a run have died before removing them.
  for (const index of Object.keys(await es.indices.get({ index: `${config.searchIndex}_layout_*` }))) indices.add(index);
} catch {}
for (const index of indices) await es.indices.delete({ index }).catch(() => {});
await es.close();
console.log(`test state reset: ${database}, redis ${config.redisClusterNodes ? "cluster" : new URL(config.redisUrl).pathname}, ${[...indices].join(", ")}`);
