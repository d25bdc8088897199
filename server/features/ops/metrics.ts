/**
 * Prometheus metrics in the text exposition format, without a dependency: request latency by route,
 * accepted writes by kind, and at scrape time the stream state per consumer group (lag, pending)
 * and the dead-letter count, read from Redis.
 */
import type { RedisClient } from "../../../core/redis/client.ts";
import type { Keys } from "../../../core/keys.ts";
import { WEBHOOK_LATENCY_BUCKETS } from "../../../core/webhooks/registry.ts";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type Labels = Record<string, string>;
const labelText = (labels: Labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

export function createMetrics() {
  const latency = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  const accepted = new Map<string, number>();
  return {
    observeRequest(method: string, route: string, status: string, seconds: number) {
      // A plain key on the hot path; the label text is escaped only when scraped.
      const key = `${method} ${status} ${route}`;
      let h = latency.get(key);
      if (!h) latency.set(key, (h = { labels: { method, route, status }, counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
      for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
      h.sum += seconds;
      h.count++;
    },
    accepted(kind: string) {
      accepted.set(kind, (accepted.get(kind) ?? 0) + 1);
    },
    async render(redis: RedisClient, keys: Keys): Promise<string> {
      const lines: string[] = [];
      lines.push("# HELP http_request_duration_seconds Request latency by route.", "# TYPE http_request_duration_seconds histogram");
      for (const h of latency.values()) {
        BUCKETS.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(le) })} ${h.counts[i]}`));
        lines.push(`http_request_duration_seconds_bucket${labelText({ ...h.labels, le: "+Inf" })} ${h.count}`);
        lines.push(`http_request_duration_seconds_sum${labelText(h.labels)} ${h.sum}`, `http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
      }
      lines.push("# HELP chat_accepted_writes_total Writes accepted by this process (queued on the stream).", "# TYPE chat_accepted_writes_total counter");
      for (const [kind, n] of accepted) lines.push(`chat_accepted_writes_total${labelText({ kind })} ${n}`);

      const lag: string[] = [];
      const pending: string[] = [];
      for (const stream of keys.streams()) {
        const groups = (await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][];
        for (const row of groups) {
          const g: Record<string, unknown> = {};
          for (let i = 0; i + 1 < row.length; i += 2) g[String(row[i])] = row[i + 1];
          const labels = labelText({ stream, group: String(g.name) });
          lag.push(`chat_stream_lag${labels} ${Number(g.lag ?? 0)}`);
          pending.push(`chat_stream_pending${labels} ${Number(g.pending ?? 0)}`);
        }
      }
      lines.push("# HELP chat_stream_lag Entries not yet read by a consumer group.", "# TYPE chat_stream_lag gauge", ...lag);
      lines.push("# HELP chat_stream_pending Entries read but not yet acknowledged.", "# TYPE chat_stream_pending gauge", ...pending);
      lines.push("# HELP chat_dead_letters Entries in the dead-letter stream.", "# TYPE chat_dead_letters gauge", `chat_dead_letters ${await redis.xlen(keys.deadLetter).catch(() => 0)}`);
      lines.push(...(await webhookMetrics(redis, keys)));
      return lines.join("\n") + "\n";
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Webhook delivery counters, summed over the shards' stats hashes that the workers keep (webhooks_settle.lua). */
async function webhookMetrics(redis: RedisClient, keys: Keys): Promise<string[]> {
  const totals: Record<string, number> = {};
  let queued = 0;
  for (let shard = 0; shard < keys.shards; shard++) {
    const { stats, jobs } = keys.webhookDeliveries(shard);
    const [fields, length] = await Promise.all([redis.hgetall(stats).catch(() => ({}) as Record<string, string>), redis.hlen(jobs).catch(() => 0)]);
    for (const [field, value] of Object.entries(fields)) totals[field] = (totals[field] ?? 0) + Number(value);
    queued += Number(length);
  }
  const n = (field: string) => totals[field] ?? 0;
  const lines = [
    "# HELP webhook_deliveries_total Webhook deliveries by outcome: delivered, failed (an attempt that will be retried or dead-lettered), dead_lettered, dropped (endpoint deleted).",
    "# TYPE webhook_deliveries_total counter",
    `webhook_deliveries_total{outcome="delivered"} ${n("delivered")}`,
    `webhook_deliveries_total{outcome="failed"} ${n("failed_attempts")}`,
    `webhook_deliveries_total{outcome="dead_lettered"} ${n("dead_lettered")}`,
    `webhook_deliveries_total{outcome="dropped"} ${n("dropped")}`,
    "# HELP webhook_attempts_total Webhook delivery attempts (HTTP requests sent).",
    "# TYPE webhook_attempts_total counter",
    `webhook_attempts_total ${n("attempts")}`,
    "# HELP webhook_queue_depth Webhook deliveries queued: due now, in flight, or waiting for a retry.",
    "# TYPE webhook_queue_depth gauge",
    `webhook_queue_depth ${queued}`,
    "# HELP webhook_delivery_seconds From queued to delivered (2xx), retries included.",
    "# TYPE webhook_delivery_seconds histogram",
  ];
  for (const le of WEBHOOK_LATENCY_BUCKETS) lines.push(`webhook_delivery_seconds_bucket{le="${le}"} ${n(`latency_le_${le}`)}`);
  lines.push(`webhook_delivery_seconds_bucket{le="+Inf"} ${n("latency_count")}`, `webhook_delivery_seconds_sum ${n("latency_ms_sum") / 1000}`, `webhook_delivery_seconds_count ${n("latency_count")}`);
  return lines;
}
