/**
 * Webhook endpoints (SPEC §5.7): rows in MySQL (few per application, written directly, as
 * applications are), mirrored into the Redis registry the worker delivers from after every change.
 */
import { randomBytes } from "node:crypto";
import type { PoolConnection } from "mysql2/promise";
import type { Deps } from "../../deps.ts";
import type { ApplicationService } from "../applications/service.ts";
import { decodeCursor, encodeCursor } from "../../common/cursor.ts";
import { conflict, notFound, validationFailed } from "../../errors.ts";
import { once } from "../../common/idempotency.ts";
import { seedRegistry, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../../core/webhooks/registry.ts";
import { assertPublicUrl, parseWebhookUrl, UnsafeUrlError } from "../../../core/webhooks/url-guard.ts";

/** SPEC §5.7: the 21st endpoint of an application is a 409. */
export const MAX_ENDPOINTS = 20;
const ID = /^wh_[A-Za-z0-9_-]{24}$/;

type Row = { seq: number; id: string; url: string; events: string; description: string | null; created_at: Date };
export type WebhookInputBody = { url: string; events?: WebhookEventType[] | WebhookEventType; description?: string | null };

function toEndpoint(row: Row) {
  return {
    id: row.id,
    url: row.url,
    events: row.events ? (row.events.split(",") as WebhookEventType[]) : [...WEBHOOK_EVENT_TYPES],
    description: row.description,
    created_at: row.created_at.toISOString(),
  };
}
export type Endpoint = ReturnType<typeof toEndpoint>;

export function webhookService({ pool, redis, scripts, keys, config }: Deps, applications: ApplicationService) {
  const allowPrivate = config.webhooks.allowPrivateUrls;

  async function query<T>(sql: string, params: unknown[]): Promise<T[]> {
    const [rows] = await pool.query(sql, params);
    return rows as T[];
  }

  /**
   * One change to an application's endpoints: `work` and the bump of its webhooks_version in one
   * transaction, then the Redis registry the worker delivers from re-seeded from what was committed.
   */
  async function change(token: string, appId: number, work: (connection: PoolConnection) => Promise<unknown>) {
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await work(connection);
      await connection.query("UPDATE applications SET webhooks_version = webhooks_version + 1 WHERE id = ?", [appId]);
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
    await seedRegistry(pool, scripts, token, appId);
  }

  async function create(token: string, body: WebhookInputBody) {
    const app = await applications.find(token);
    let url: URL;
    try {
      url = parseWebhookUrl(body.url);
      await assertPublicUrl(url, allowPrivate);
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw validationFailed(error.message, [{ field: "url", message: error.message }]);
      throw error;
    }
    const chosen = body.events === undefined ? [] : [...new Set(Array.isArray(body.events) ? body.events : [body.events])];
    // Every type listed is the same as the default (all): stored as "all", so new types reach it too.
    const events = chosen.length === WEBHOOK_EVENT_TYPES.length ? "" : WEBHOOK_EVENT_TYPES.filter((type) => chosen.includes(type)).join(",");
    const row: Row = {
      seq: 0,
      id: `wh_${randomBytes(18).toString("base64url")}`,
      url: body.url,
      events,
      description: body.description ?? null,
      created_at: new Date(),
    };
    const secret = `whsec_${randomBytes(32).toString("base64")}`;
    await change(token, app.id, async (connection) => {
      // The application row is the lock: two creates cannot both take the 20th place.
      const [locked] = (await connection.query("SELECT id FROM applications WHERE id = ? FOR UPDATE", [app.id])) as unknown as [unknown[]];
      if (!locked.length) throw notFound("application");
      const [[{ n }]] = (await connection.query("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE application_id = ?", [app.id])) as unknown as [[{ n: number }]];
      if (Number(n) >= MAX_ENDPOINTS) throw conflict(`an application has at most ${MAX_ENDPOINTS} webhook endpoints; delete one first`);
      await connection.query(
        "INSERT INTO webhook_endpoints (id, application_id, url, events, description, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [row.id, app.id, row.url, row.events, row.description, secret, row.created_at],
      );
    });
    return { ...toEndpoint(row), secret };
  }

  async function findRow(token: string, id: string): Promise<{ appId: number; row: Row }> {
    const app = await applications.find(token);
    if (!ID.test(id)) throw notFound("webhook endpoint");
    const [row] = await query<Row>("SELECT seq, id, url, events, description, created_at FROM webhook_endpoints WHERE application_id = ? AND id = ?", [app.id, id]);
    if (!row) throw notFound("webhook endpoint");
    return { appId: app.id, row };
  }

  return {
    create,

    /** Create with an Idempotency-Key: a repeat answers the original, secret included. */
    async createOnce(token: string, body: WebhookInputBody, key: string, fingerprint: string) {
      const { replayed, value } = await once(redis, keys.idempotency(token, `webhooks|${key}`), fingerprint, () => create(token, body));
      return { replayed, endpoint: value };
    },

    async get(token: string, id: string) {
      return toEndpoint((await findRow(token, id)).row);
    },

    async list(token: string, limit: number, order: "asc" | "desc", cursor?: string) {
      const app = await applications.find(token);
      const after = cursor ? decodeCursor(cursor) : undefined;
      const direction = order === "asc" ? "ASC" : "DESC";
      const range = after === undefined ? "" : order === "asc" ? " AND seq > ?" : " AND seq < ?";
      const rows = await query<Row>(
        `SELECT seq, id, url, events, description, created_at FROM webhook_endpoints WHERE application_id = ?${range} ORDER BY seq ${direction} LIMIT ?`,
        after === undefined ? [app.id, limit + 1] : [app.id, after, limit + 1],
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { data: page.map(toEndpoint), next_cursor: rows.length > limit && last ? encodeCursor(Number(last.seq)) : null };
    },

    async remove(token: string, id: string) {
      const { appId, row } = await findRow(token, id);
      await change(token, appId, (connection) => connection.query("DELETE FROM webhook_endpoints WHERE seq = ?", [row.seq]));
    },
  };
}

export type WebhookService = ReturnType<typeof webhookService>;
