/**
 * The Redis state of an application and its chats: resolving a token to its application, and
 * running a write script with its repairs — when Redis lost a counter (flush, cold start) or it may
 * be behind MySQL (another Redis instance: restart from the AOF, failover), the script answers
 * NOAPP/NOCHAT and the counter is re-seeded from MySQL's maximum before the script runs again.
 * Refusals become the API's errors.
 */
import { and, eq, gt, max, sql } from "drizzle-orm";
import { applications, chats, messages } from "../../core/db/schema.ts";
import type { CreateReply, MutateReply } from "../../core/redis/scripts.ts";
import type { Deps } from "../deps.ts";
import { conflict, notFound } from "../errors.ts";
import { rateLimitError } from "./ratelimit.ts";

type Success<R> = Exclude<R, { status: "NOAPP" | "NOCHAT" | "NOTFOUND" | "CONFLICT" | "RATELIMITED" }>;

export function redisState({ db, redis, scripts, keys, config }: Deps) {
  /** Re-creates the application's Redis hash from MySQL; 404 when it does not exist. */
  async function seedApp(token: string): Promise<number> {
    const [app] = await db
      .select({ id: applications.id, maxChat: sql<number>`(SELECT COALESCE(MAX(${chats.number}), 0) FROM ${chats} WHERE ${chats.applicationId} = ${applications.id})` })
      .from(applications)
      .where(eq(applications.token, token));
    if (!app) throw notFound("application");
    await scripts.seedApp({ token, appId: Number(app.id), maxChat: Number(app.maxChat) });
    return Number(app.id);
  }

  /**
   * Re-creates a chat's Redis hash from MySQL, or brings its counter up to MySQL's after the Redis
   * instance changed; 404 when neither Redis nor MySQL knows the chat.
   */
  async function seedChat(token: string, appId: number, chat: number): Promise<void> {
    const [row] = await db.select({ deleted: sql<number>`${chats.deletedAt} IS NOT NULL` }).from(chats).where(and(eq(chats.applicationId, appId), eq(chats.number, chat), gt(chats.version, 0)));
    // Unknown to MySQL (a GET of a chat that does not exist, the common case here): one query, not
    // two. The script still looks at Redis, where the chat may have been created meanwhile; only
    // then is the message counter read, and the chat seeded as below.
    if (!row && !(await scripts.seedChat({ token, chat, maxMessage: 0, deleted: false, known: false }))) throw notFound("chat");
    const [top] = await db.select({ n: max(messages.number) }).from(messages).where(and(eq(messages.applicationId, appId), eq(messages.chatNumber, chat)));
    const seeded = await scripts.seedChat({ token, chat, maxMessage: Number(top?.n ?? 0), deleted: !!Number(row?.deleted ?? 0), known: row !== undefined });
    if (!seeded) throw notFound("chat");
  }

  /** The application id for a token: Redis first, MySQL (and a re-seed) when Redis lost it. */
  async function appId(token: string): Promise<number> {
    const id = await redis.hget(keys.app(token), "id");
    return id ? Number(id) : seedApp(token);
  }

  /**
   * Runs a create or mutate script, repairing missing or stale counters (NOAPP, NOCHAT) from MySQL
   * and retrying; the other refusals become errors. Returns the reply of a successful call.
   */
  async function run<R extends CreateReply | MutateReply>(call: () => Promise<R>, token: string, chat?: number): Promise<Success<R>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const reply = await call();
      switch (reply.status) {
        case "NOAPP":
          await seedApp(token);
          continue;
        case "NOCHAT":
          await seedChat(token, await appId(token), chat!);
          continue;
        case "NOTFOUND":
          throw notFound(chat === undefined ? "application" : "chat or message");
        case "RATELIMITED":
          throw rateLimitError(reply.waitMs, config.rateLimitPerMinute ?? 0);
        case "CONFLICT":
          throw conflict("this Idempotency-Key was used with a different request");
        default:
          return reply as Success<R>;
      }
    }
    throw notFound(chat === undefined ? "application" : "chat");
  }

  return { appId, seedChat, run };
}

export type RedisState = ReturnType<typeof redisState>;
