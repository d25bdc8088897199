import { Cluster } from "ioredis";
import type { RedisClient } from "../../../core/redis/client.ts";
import { Elysia, t } from "elysia";
import { errors } from "../../common/models.ts";
import { Health, Readiness } from "./model.ts";
import type { Deps } from "../../deps.ts";
import type { Metrics } from "./metrics.ts";

type State = "up" | "down";

/** One Redis answers PING; a cluster says cluster_state:ok (every slot served). */
async function redisAnswers(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Cluster)) return void (await redis.ping());
  const info = String(await redis.cluster("INFO"));
  if (!/^cluster_state:ok/m.test(info)) throw new Error("cluster not ok");
}

async function check(probe: () => Promise<unknown>, timeoutMs = 2000): Promise<State> {
  let timer: Timer | undefined;
  try {
    await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), timeoutMs)))]);
    return "up";
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

export function opsRoutes({ pool, readPool, redis, es, keys }: Deps, metrics: Metrics) {
  return new Elysia()
    .get(
      "/metrics",
      async () => new Response(await metrics.render(redis, keys), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } }),
      { response: { 200: t.String({ description: "Prometheus text exposition format" }), ...errors(400, 503) }, detail: { tags: ["operations"], operationId: "ops.metrics", summary: "Prometheus metrics (text exposition format)" } },
    )
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: { 200: Health, ...errors(400) },
      detail: { tags: ["operations"], operationId: "ops.health", summary: "The process is up" },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const [mysql, redisState, elasticsearch] = await Promise.all([
          // With DATABASE_READ_URL, MySQL is ready when the primary and the replica answer.
          check(() => Promise.all([pool.query("SELECT 1"), readPool !== pool && readPool.query("SELECT 1")])),
          check(() => redisAnswers(redis)),
          check(() => es.cluster.health({ timeout: "2s" })),
        ]);
        const checks = { mysql, redis: redisState, elasticsearch };
        const ready = Object.values(checks).every((s) => s === "up");
        set.status = ready ? 200 : 503;
        return { status: ready ? ("ready" as const) : ("unavailable" as const), checks };
      },
      {
        response: { 200: Readiness, 503: Readiness, ...errors(400) },
        detail: { tags: ["operations"], operationId: "ops.ready", summary: "MySQL, Redis and Elasticsearch answer" },
      },
    );
}
