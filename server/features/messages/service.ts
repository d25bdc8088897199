import { sql } from "drizzle-orm";
import type { ChainableCommander } from "ioredis";
import { execAll } from "../../../core/redis/client.ts";
import type { Deps } from "../../deps.ts";
import { decodeCursor, encodeCursor } from "../../common/cursor.ts";
import { IDEMPOTENCY_TTL_SECONDS, iso, liveArgs, writes } from "../../common/writes.ts";
import { mergedPage, parseEntries, readEntry, readWindow, type OverlayEntry } from "../../common/overlay.ts";
import { notFound } from "../../errors.ts";

type MessageRow = { number: number; chat_number: number; body: string; created_at: number; updated_at: number; version: number };
type Overlay = Omit<MessageRow, "version">;

const fromEntry = (e: OverlayEntry, chat: number): MessageRow => ({
  number: e.number,
  chat_number: chat,
  body: e.text ?? "",
  created_at: e.created_at,
  updated_at: e.updated_at,
  version: e.version,
});

export const toMessage = (m: Omit<MessageRow, "version">) => ({
  number: m.number,
  chat_number: m.chat_number,
  body: m.body,
  created_at: iso(m.created_at),
  updated_at: iso(m.updated_at),
});

const columns = sql`number, chat_number, body, UNIX_TIMESTAMP(created_at) * 1000 AS created_at, UNIX_TIMESTAMP(updated_at) * 1000 AS updated_at, version`;

function normalize(row: Record<string, unknown>): MessageRow {
  return {
    number: Number(row.number),
    chat_number: Number(row.chat_number),
    body: String(row.body),
    created_at: Math.round(Number(row.created_at)),
    updated_at: Math.round(Number(row.updated_at)),
    version: Number(row.version),
  };
}

export function messageService(deps: Deps) {
  const { redis, keys } = deps;
  const w = writes(deps);
  const live = liveArgs(deps);

  /** The chat must exist (and not be deleted) in Redis, or in MySQL when Redis lost it. */
  async function liveChat(token: string, chat: number): Promise<number> {
    const appId = await w.appId(token);
    let deleted = await redis.hget(keys.chat(token, chat), "deleted");
    if (deleted === null) {
      await w.seedChat(token, appId, chat);
      deleted = await redis.hget(keys.chat(token, chat), "deleted");
    }
    if (deleted !== "0") throw notFound("chat");
    return appId;
  }

  /**
   * The chat check plus one more read of the chat's keys in one round trip (they share a hash tag);
   * falls back to the re-seeding path when Redis lost the application or the chat (re-seeding
   * restores counters, never pending entries, so the value read is still the one to use).
   */
  async function withChat<T>(token: string, chat: number, read: (p: ChainableCommander) => ChainableCommander): Promise<{ appId: number; value: T }> {
    const [id, deleted, value] = (await execAll(read(redis.pipeline().hget(keys.app(token), "id").hget(keys.chat(token, chat), "deleted")))) as [string | null, string | null, T];
    if (id === null || deleted === null) return { appId: await liveChat(token, chat), value };
    if (deleted !== "0") throw notFound("chat");
    return { appId: Number(id), value };
  }

  async function persisted(appId: number, chat: number, n: number): Promise<MessageRow | undefined> {
    const [row] = await w.query<Record<string, unknown>>(
      sql`SELECT ${columns} FROM messages WHERE application_id = ${appId} AND chat_number = ${chat} AND number = ${n} AND deleted_at IS NULL`,
    );
    return row ? normalize(row) : undefined;
  }

  async function mutate(token: string, chat: number, n: number, action: "updated" | "deleted", body?: string) {
    const call = (state: string) => () =>
      redis.scripts.mutate(
        [keys.app(token), keys.chat(token, chat), keys.streamOf(token), keys.pending(token, chat), keys.channel(token, chat), keys.eventLog(token, chat), keys.watch(token, chat)],
        [token, "message", action, chat, n, body === undefined ? "0" : "1", body ?? "", state, live.logLength, live.logTtlMs],
      );
    let reply = await w.run(call(""), token, chat);
    if (reply[0] === "NEEDROW") {
      const row = await persisted(await w.appId(token), chat, n);
      reply = await w.run(call(row ? JSON.stringify(toOverlay(row)) : "gone"), token, chat);
    }
    return JSON.parse(String(reply[2])) as Overlay;
  }

  const toOverlay = ({ version: _, ...rest }: MessageRow): Overlay => rest;

  return {
    liveChat,

    async create(token: string, chat: number, body: string, idempotency?: { key: string; fingerprint: string }) {
      const reply = await w.run(
        () =>
          redis.scripts.create_message(
            [keys.app(token), keys.chat(token, chat), keys.streamOf(token), keys.pending(token, chat), keys.idempotency(token, idempotency?.key ?? ""), keys.channel(token, chat), keys.rateLimit(token), keys.eventLog(token, chat), keys.watch(token, chat)],
            [token, chat, body, idempotency?.fingerprint ?? "", IDEMPOTENCY_TTL_SECONDS, live.rate, live.logLength, live.logTtlMs],
          ),
        token,
        chat,
      );
      const [status, number, , ms] = reply;
      const at = Number(ms);
      return { replayed: status === "REPLAY", message: toMessage({ number: Number(number), chat_number: chat, body, created_at: at, updated_at: at }) };
    },

    async get(token: string, chat: number, n: number) {
      const { appId, value } = await withChat<string[]>(token, chat, (p) => readEntry(p, keys.pending(token, chat), n));
      const [pending] = parseEntries(value);
      if (pending?.deleted) throw notFound("message");
      const found = pending ? fromEntry(pending, chat) : await persisted(appId, chat, n);
      if (!found) throw notFound("message");
      return toMessage(found);
    },

    async update(token: string, chat: number, n: number, body: string) {
      return toMessage(await mutate(token, chat, n, "updated", body));
    },

    async remove(token: string, chat: number, n: number) {
      await mutate(token, chat, n, "deleted");
    },

    async list(token: string, chat: number, limit: number, order: "asc" | "desc", cursor?: string) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const overlay = keys.pending(token, chat);
      const { appId, value } = await withChat<string[]>(token, chat, (p) => readWindow(p, overlay, order, after, limit + 1));
      const page = await mergedPage<MessageRow>({
        limit,
        order,
        after,
        window: parseEntries(value),
        readOverlay: async (from, count) => parseEntries((await execAll(readWindow(redis.pipeline(), overlay, order, from, count)))[0] as string[]),
        readRows: async (from, bound, count) => {
          const range = from === undefined ? sql`` : order === "asc" ? sql`AND number > ${from}` : sql`AND number < ${from}`;
          const upTo = bound === undefined ? sql`` : order === "asc" ? sql`AND number <= ${bound}` : sql`AND number >= ${bound}`;
          const rows = await w.query<Record<string, unknown>>(
            sql`SELECT ${columns} FROM messages WHERE application_id = ${appId} AND chat_number = ${chat} AND deleted_at IS NULL ${range} ${upTo}
                ORDER BY number ${order === "asc" ? sql`ASC` : sql`DESC`} LIMIT ${count}`,
          );
          return rows.map(normalize);
        },
        fromEntry: (e) => fromEntry(e, chat),
      });
      const last = page.items[page.items.length - 1];
      return { data: page.items.map(toMessage), next_cursor: page.more && last ? encodeCursor(last.number) : null };
    },
  };
}
