import { and, eq } from "drizzle-orm";
import { applications } from "../../../core/db/schema.ts";
import type { Deps } from "../../deps.ts";
import { decodeCursor, encodeCursor, keysetOrder, keysetRange } from "../../common/cursor.ts";
import { conflict, notFound } from "../../errors.ts";
import { IDEMPOTENCY_TTL_SECONDS } from "../../../core/redis/scripts.ts";
import { newToken } from "../../common/params.ts";

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
      return toApplication({ id, token, name, chatsCount: 0, createdAt: now, updatedAt: now });
    },

    /**
     * Create with an Idempotency-Key: the first request claims the key ("pending"), creates, and
     * stores its response ("done"); a repeat gets that response; a concurrent repeat waits for it.
     */
    async createOnce(name: string, key: string, fingerprint: string): Promise<{ replayed: boolean; app: ReturnType<typeof toApplication> }> {
      const record = keys.appIdempotency(key);
      const claimed = await redis.set(record, `pending|${fingerprint}`, "EX", IDEMPOTENCY_TTL_SECONDS, "NX");
      if (claimed) {
        try {
          const app = await this.create(name);
          await redis.set(record, `done|${fingerprint}|${JSON.stringify(app)}`, "EX", IDEMPOTENCY_TTL_SECONDS);
          return { replayed: false, app };
        } catch (error) {
          await redis.del(record).catch(() => {});
          throw error;
        }
      }
      for (let waited = 0; waited < 10_000; waited += 50) {
        const value = (await redis.get(record)) ?? "";
        const [state, fp] = value.split("|", 2);
        if (fp !== undefined && fp !== fingerprint) throw conflict("this Idempotency-Key was used with a different request");
        if (state === "done") return { replayed: true, app: JSON.parse(value.slice(value.indexOf("|", 5) + 1)) as ReturnType<typeof toApplication> };
        if (!value) return this.createOnce(name, key, fingerprint);
        await Bun.sleep(50);
      }
      throw conflict("a request with this Idempotency-Key is still in progress");
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
      await redis.del(keys.app(token));
      await redis.xadd(keys.streamOf(token), "*", "t", "application.deleted", "a", String(row.id), "k", token);
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
