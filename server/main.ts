/** API process: configuration, clients, listen, graceful stop. */
import { loadConfigOrExit } from "../core/config.ts";
import { createDb } from "../core/db/client.ts";
import { keysFor } from "../core/keys.ts";
import { createLogger, exitOnCrash } from "../core/log.ts";
import { createRedis, waitReady } from "../core/redis/client.ts";
import { scriptSettings, scriptsFor } from "../core/redis/scripts.ts";
import { createElasticsearch } from "../core/search/client.ts";
import { buildApp } from "./app.ts";
import { createMetrics } from "./features/ops/metrics.ts";
import { buildWebClient } from "./features/web/build.ts";

const config = loadConfigOrExit();

const log = createLogger(config.logLevel, { service: "api", pid: process.pid });
exitOnCrash(log); // the runtime's own crash report would print every property of the error (SQL, command arguments)
// The page at / is bundled now, from this checkout's web/ (SPEC §5.8); a client that does not build is a bug: stop.
const web = await buildWebClient().catch((error: unknown) => {
  log.error("the web client did not build", { err: error });
  process.exit(1);
});
const { db, pool } = createDb(config.databaseUrl, config.databasePoolSize);
const { db: readDb, pool: readPool } = config.databaseReadUrl ? createDb(config.databaseReadUrl, config.databasePoolSize) : { db, pool };
const redis = createRedis(config);
const subscriber = createRedis(config, { enableOfflineQueue: true, maxRetriesPerRequest: null });
const es = createElasticsearch(config.elasticsearchUrl);
const keys = keysFor(config.streamShards);
const deps = { config, db, pool, readDb, readPool, redis, scripts: scriptsFor(redis, keys, scriptSettings(config)), subscriber, es, keys, log, metrics: createMetrics(), web };
const app = buildApp(deps);

// Requests fail fast while Redis is unreachable (no offline queue): wait for the first connection
// so a freshly started process does not answer its first requests with 503, but not for a Redis
// that refuses connections (then /healthz should answer and /readyz say why).
await waitReady(redis, 10_000, true).catch(() => log.warn("redis not ready yet; serving anyway, /readyz reports it"));
// Bodies are limited to 64 KiB by the body parser, which answers in the error envelope; Bun's own
// limit (a bare 413) only backstops it.
app.listen({ port: config.port, hostname: "0.0.0.0", maxRequestBodySize: 1024 * 1024 * 1024 });
log.info("listening", { port: app.server?.port });

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("stopping", { signal });
  await app.stop();
  await Promise.allSettled([pool.end(), ...(readPool !== pool ? [readPool.end()] : []), redis.quit(), subscriber.quit(), es.close()]);
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
