import { Elysia, t } from "elysia";
import { errors } from "../../common/models.ts";
import { Health, Readiness } from "./model.ts";
import type { Deps } from "../../deps.ts";
import type { Metrics } from "./metrics.ts";

type State = "up" | "down";

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

export function opsRoutes({ pool, redis, es, keys }: Deps, metrics: Metrics) {
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
          check(() => pool.query("SELECT 1")),
          check(() => redis.ping()),
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
