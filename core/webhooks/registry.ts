/**
 * The webhook endpoints of an application, as the worker reads them: a Redis hash under the
 * application's hash tag (no MySQL on the delivery path), re-seeded from MySQL — the record — when
 * it is missing or stale. The API seeds it after every change; a worker seeds it on a miss. Seeders
 * race harmlessly: applications.webhooks_version orders them and the highest wins (webhooks_seed.lua).
 */
import type { Pool } from "../db/client.ts";
import type { Scripts } from "../redis/scripts.ts";

export const WEBHOOK_EVENT_TYPES = ["chat.created", "chat.updated", "chat.deleted", "message.created", "message.updated", "message.deleted"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Delivery latency buckets (seconds, queued → delivered): the workers count them, /metrics publishes them. */
export const WEBHOOK_LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000];

/** What a delivery needs of an endpoint. */
export type RegisteredEndpoint = { id: string; url: string; secret: string; /** empty: every type */ events: WebhookEventType[] };

export const subscribes = (endpoint: RegisteredEndpoint, type: string) => endpoint.events.length === 0 || endpoint.events.includes(type as WebhookEventType);

type Row = { id: string; url: string; secret: string; events: string };

/** The endpoints MySQL holds for an application and the version they were read at; null when the application is gone. */
export async function readEndpoints(pool: Pool, appId: number): Promise<{ version: number; endpoints: RegisteredEndpoint[] } | null> {
  const connection = await pool.getConnection();
  try {
    // One snapshot: the version and the rows it counts.
    await connection.query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    const [apps] = (await connection.query("SELECT webhooks_version AS version FROM applications WHERE id = ?", [appId])) as unknown as [{ version: number }[]];
    const [rows] = (await connection.query("SELECT id, url, secret, events FROM webhook_endpoints WHERE application_id = ? ORDER BY seq", [appId])) as unknown as [Row[]];
    await connection.query("COMMIT");
    if (!apps[0]) return null;
    return { version: Number(apps[0].version), endpoints: rows.map(toEndpoint) };
  } finally {
    connection.release();
  }
}

export function toEndpoint(row: Row): RegisteredEndpoint {
  return { id: row.id, url: row.url, secret: row.secret, events: (row.events ? row.events.split(",") : []) as WebhookEventType[] };
}

/** Writes what MySQL holds into the registry (a later version already there is kept). */
export async function seedRegistry(pool: Pool, scripts: Scripts, token: string, appId: number): Promise<RegisteredEndpoint[]> {
  const record = await readEndpoints(pool, appId);
  if (!record) {
    await scripts.webhooksSeed({ token, version: Number.MAX_SAFE_INTEGER, endpoints: [] });
    return [];
  }
  await scripts.webhooksSeed({ token, version: record.version, endpoints: record.endpoints.map((e) => [e.id, JSON.stringify(e)]) });
  return record.endpoints;
}

/** The registry's endpoints, seeding it from MySQL when Redis does not hold a valid one. */
export async function registeredEndpoints(pool: Pool, scripts: Scripts, token: string, appId: number): Promise<RegisteredEndpoint[]> {
  const held = await scripts.webhooksRead({ token });
  if (held) return [...held.values()].map((json) => JSON.parse(json) as RegisteredEndpoint);
  return seedRegistry(pool, scripts, token, appId);
}
