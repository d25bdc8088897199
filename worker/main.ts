/** Worker process: one consumer per sink (each its own consumer group), stopped cleanly on SIGTERM. */
import { loadConfigOrExit } from "../core/config.ts";
import { createDb } from "../core/db/client.ts";
import { parseEvent, type StreamEvent } from "../core/events.ts";
import { groups, keysFor } from "../core/keys.ts";
import { createLogger, exitOnCrash } from "../core/log.ts";
import { createRedis } from "../core/redis/client.ts";
import { scriptSettings, scriptsFor } from "../core/redis/scripts.ts";
import { StreamConsumer, type Sink } from "./consumer.ts";
import { startReconciler } from "./reconcile.ts";
import { mysqlSink } from "./sinks/mysql.ts";
import { replicaWaiter } from "./sinks/replica.ts";
import { searchSink } from "./sinks/search.ts";
import { webhooksSink } from "./sinks/webhooks.ts";
import { webhookDispatcher } from "./webhooks/dispatcher.ts";

const config = loadConfigOrExit();

const { stopTimeoutMs } = config.worker;
const log = createLogger(config.logLevel, { service: "worker", pid: process.pid });
exitOnCrash(log); // the runtime's own crash report would print every property of the error (SQL, command arguments)
const keys = keysFor(config.streamShards);
const redisOptions = { enableOfflineQueue: true, maxRetriesPerRequest: null };
const redis = createRedis(config, redisOptions);
const { pool } = createDb(config.databaseUrl, config.databasePoolSize);
// DATABASE_READ_URL: the API reads a replica, so the MySQL sink releases overlay entries only once it has them.
const readPool = config.databaseReadUrl ? createDb(config.databaseReadUrl, config.databasePoolSize).pool : undefined;

// Loading the Elasticsearch client costs ~130 ms of CPU: only a worker that feeds search pays it.
const es = config.worker.sinks.includes("search") ? (await import("../core/search/client.ts")).createElasticsearch(config.elasticsearchUrl) : undefined;

const scripts = scriptsFor(redis, keys, scriptSettings(config));
// Sends what the webhooks sink queues, from every shard; also what other workers queued or left.
const dispatcher = config.worker.sinks.includes("webhooks")
  ? webhookDispatcher({ redis, scripts, pool, keys, log, settings: config.webhooks, stopTimeoutMs })
  : undefined;

const sinks: Record<string, () => Sink<StreamEvent>> = {
  mysql: () => mysqlSink({ pool, redis, scripts, keys, replica: readPool && replicaWaiter(readPool, config.databaseReadWaitTimeoutMs) }),
  search: () => searchSink({ es: es!, redis, keys, index: config.searchIndex }),
  webhooks: () => webhooksSink({ pool, scripts, keys, log, onQueued: () => dispatcher?.queued() }),
};

// One consumer per sink and stream shard: a read, an acknowledgement or a pipeline then touches one
// shard's hash tag, so one Redis Cluster slot; and the shards drain side by side.
const consumers = config.worker.sinks.flatMap((name) => {
  const make = sinks[name];
  if (!make) {
    log.warn("unknown sink in WORKER_SINKS, skipped", { sink: name });
    return [];
  }
  const sink = make();
  return keys.streams().map((stream) => new StreamConsumer<StreamEvent>({
    redis,
    blocking: createRedis(config, redisOptions),
    streams: [stream],
    allGroups: Object.values(groups),
    consumer: config.worker.consumerName,
    deadLetter: keys.deadLetter,
    ...config.worker,
    log,
    decode: (entry) => parseEvent(entry.stream, entry.id, entry.fields),
    sink,
    replicas: { count: config.redisWaitReplicas, timeoutMs: config.redisWaitTimeoutMs, mark: keys.replicationMark },
  }));
});

const reconciler = config.worker.sinks.includes("mysql") ? startReconciler({ pool, log, intervalMs: config.worker.reconcileIntervalMs }) : undefined;
const running = Promise.all(consumers.map((c) => c.start()));
dispatcher?.start();
log.info("worker started", { sinks: config.worker.sinks, consumer: config.worker.consumerName });

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("stopping after the batch in hand", { signal });
  // Whatever hangs (a sink that never answers), the process is gone within its stop timeout + 1.5 s.
  setTimeout(() => {
    log.warn("stop timed out; exiting with entries left pending for other workers");
    process.exit(0);
  }, stopTimeoutMs + 1500).unref();
  reconciler?.stop();
  await Promise.all([...consumers.map((c) => c.stop()), dispatcher?.stop()]);
  await running;
  await Promise.allSettled([pool.end(), ...(readPool ? [readPool.end()] : []), redis.quit(), es?.close()]);
  process.exit(0);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));
