/**
 * What chats and messages share on the request path: resolving a token to its application through
 * Redis, calling the Lua scripts, re-seeding Redis from MySQL when a key is cold (flushed, lost),
 * idempotency keys, and the pending overlay that makes accepted writes readable before the worker
 * persisted them.
 */
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import type { Deps } from "../deps.ts";
import { badRequest, conflict, notFound, rateLimited } from "../errors.ts";

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

export type ScriptReply = [string, ...(string | number)[]];

/** Validates an Idempotency-Key header: 1..255 visible ASCII characters. */
export function idempotencyKey(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw badRequest("Idempotency-Key must be 1..255 visible ASCII characters");
  }
  return header;
}

/** What makes two requests "the same" for an idempotency key: method, path and body. */
export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash("sha256").update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest("base64url");
}

export function rateLimitError(waitMs: number, limit: number) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return rateLimited(seconds, { "ratelimit-limit": String(limit), "ratelimit-remaining": "0", "ratelimit-reset": String(seconds) });
}

/** Extra script arguments every create and mutate call carries. */
export function liveArgs(deps: Deps) {
  return { rate: deps.config.rateLimitPerMinute ?? 0, logLength: deps.config.eventLogLength, logTtlMs: deps.config.eventLogTtlSeconds * 1000 };
}

export const iso = (ms: number | Date) => new Date(ms).toISOString();

export function writes(deps: Deps) {
  const { db, redis, keys } = deps;

  async function query<T>(statement: ReturnType<typeof sql>): Promise<T[]> {
    const [rows] = (await db.execute(statement)) as unknown as [T[]];
    return rows;
  }

  /** Re-creates the application's Redis hash from MySQL; 404 when it does not exist. */
  async function seedApp(token: string): Promise<number> {
    const [app] = await query<{ id: number; n: number }>(
      sql`SELECT a.id, (SELECT COALESCE(MAX(c.number), 0) FROM chats c WHERE c.application_id = a.id) AS n FROM applications a WHERE a.token = ${token}`,
    );
    if (!app) throw notFound("application");
    await redis.scripts.seed_app([keys.app(token)], [app.id, Number(app.n)]);
    return Number(app.id);
  }

  /**
   * Re-creates a chat's Redis hash from MySQL, or brings its counter up to MySQL's after the Redis
   * instance changed; 404 when neither Redis nor MySQL knows the chat.
   */
  async function seedChat(token: string, appId: number, chat: number): Promise<void> {
    const [row] = await query<{ deleted: number | null; n: number }>(
      sql`SELECT (SELECT c.deleted_at IS NOT NULL FROM chats c WHERE c.application_id = ${appId} AND c.number = ${chat} AND c.version > 0) AS deleted,
            (SELECT COALESCE(MAX(m.number), 0) FROM messages m WHERE m.application_id = ${appId} AND m.chat_number = ${chat}) AS n`,
    );
    const known = row?.deleted !== null && row?.deleted !== undefined;
    const seeded = await redis.scripts.seed_chat([keys.chat(token, chat)], [Number(row?.n ?? 0), known && Number(row!.deleted) ? "1" : "0", known ? "1" : "0"]);
    if (!seeded) throw notFound("chat");
  }

  /** The application id for a token: Redis first, MySQL (and a re-seed) when Redis lost it. */
  async function appId(token: string): Promise<number> {
    const id = await redis.hget(keys.app(token), "id");
    return id ? Number(id) : seedApp(token);
  }

  /**
   * Runs a script, repairing cold keys (NOAPP, NOCHAT) from MySQL and retrying; maps the
   * not-found and conflict answers to errors. Returns the reply of a successful call.
   */
  async function run(call: () => Promise<unknown>, token: string, chat?: number): Promise<ScriptReply> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const reply = (await call()) as ScriptReply;
      switch (reply[0]) {
        case "NOAPP":
          await seedApp(token);
          continue;
        case "NOCHAT":
          await seedChat(token, await appId(token), chat!);
          continue;
        case "NOTFOUND":
          throw notFound(chat === undefined ? "application" : "chat or message");
        case "RATELIMITED":
          throw rateLimitError(Number(reply[1]), deps.config.rateLimitPerMinute ?? 0);
        case "CONFLICT":
          throw conflict("this Idempotency-Key was used with a different request");
        default:
          return reply;
      }
    }
    throw notFound(chat === undefined ? "application" : "chat");
  }

  return { query, appId, run, seedChat };
}

export type Writes = ReturnType<typeof writes>;
