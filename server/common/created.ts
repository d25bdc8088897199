/** What every create answers besides its body: 201, Location, Idempotent-Replayed, and the metric. */
import type { Metrics } from "../features/ops/metrics.ts";

type Set = { status?: number | string; headers: Record<string, unknown> };

export function created(set: Set, metrics: Metrics, what: "application" | "chat" | "message" | "webhook", location: string, replayed: boolean): void {
  set.status = 201;
  set.headers.location = location;
  if (replayed) set.headers["idempotent-replayed"] = "true";
  else metrics.accepted(what);
}
