import { and, eq } from "drizzle-orm";
import { applications, webhookEndpoints } from "../../../core/db/schema.ts";
import type { Deps } from "../../deps.ts";
import { decodeCursor, encodeCursor, keysetOrder, keysetRange } from "../../common/cursor.ts";
import { notFound } from "../../errors.ts";
import { once } from "../../common/idempotency.ts";
import { newToken } from "../../common/params.ts";
import { eventEntry } from "../../../core/events.ts";

type Row = typeof applications.$inferSelect;

export function toApplication(row: Row) {
  return {
    token: row.token,
    name: row.name,
    chats_count: row.chatsCount,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function applicationService({ db, redis, scripts, keys }: Deps) {
  async function find(token: string): Promise<Row> {
    const [row] = await db.select().from(applications).where(eq(applications.token, token)).limit(1);
    if (!row) throw notFound("application");
    return row;
  }

  return {
    find,

    async get(token: string) {
      return toApplication(await find(token));
    },

    async create(name: string) {
      const now = new Date();
      const token = newToken();
      const [result] = await db.insert(applications).values({ token, name, createdAt: now, updatedAt: now });
      const id = result.insertId;
      // Warm Redis so the first chat create is one round trip; if this fails the cold path seeds it.
      await scripts.seedApp({ token, appId: id, maxChat: 0 }).catch(() => {});
      return toApplication({ id, token, name, chatsCount: 0, webhooksVersion: 0, createdAt: now, updatedAt: now });
    },

    /** Create with an Idempotency-Key (server/common/idempotency.ts). */
    async createOnce(name: string, key: string, fingerprint: string): Promise<{ replayed: boolean; app: ReturnType<typeof toApplication> }> {
      const { replayed, value } = await once(redis, keys.appIdempotency(key), fingerprint, () => this.create(name));
      return { replayed, app: value };
    },

    async update(token: string, name: string) {
      const row = await find(token);
      const now = new Date();
      await db.update(applications).set({ name, updatedAt: now }).where(eq(applications.id, row.id));
      return toApplication({ ...row, name, updatedAt: now });
    },

    /**
     * The row goes first (so a cold Redis cannot re-seed it), then the Redis hash (no new writes),
     * then an event after every write it accepted, on which the sinks remove the children.
     */
    async remove(token: string) {
      const row = await find(token);
      await db.delete(applications).where(eq(applications.id, row.id));
      await db.delete(webhookEndpoints).where(eq(webhookEndpoints.applicationId, row.id));
      await redis.del(keys.app(token), keys.webhooks(token));
      await redis.xadd(keys.streamOf(token), "*", "e", eventEntry({ type: "application.deleted", appId: Number(row.id), token }));
    },

    async list(limit: number, order: "asc" | "desc", cursor?: string) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const rows = await db
        .select()
        .from(applications)
        .where(and(...keysetRange(applications.id, order, after)))
        .orderBy(keysetOrder(applications.id, order))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        data: page.map(toApplication),
        next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null,
      };
    },
  };
}

export type ApplicationService = ReturnType<typeof applicationService>;
