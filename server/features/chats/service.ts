import { sql } from "drizzle-orm";
import type { ChainableCommander } from "ioredis";
import { execAll } from "../../../core/redis/client.ts";
import type { Deps } from "../../deps.ts";
import { decodeCursor, encodeCursor } from "../../common/cursor.ts";
import { IDEMPOTENCY_TTL_SECONDS, iso, liveArgs, writes } from "../../common/writes.ts";
import { mergedPage, parseEntries, readEntry, readWindow, type OverlayEntry } from "../../common/overlay.ts";
import { notFound } from "../../errors.ts";

type ChatRow = { number: number; name: string | null; messages_count: number; created_at: number; updated_at: number; version: number };
type Overlay = { number: number; name?: string | null; created_at: number; updated_at: number };

const toChat = (c: ChatRow) => ({
  number: c.number,
  name: c.name,
  messages_count: c.messages_count,
  created_at: iso(c.created_at),
  updated_at: iso(c.updated_at),
});

const fromEntry = (e: OverlayEntry, messagesCount = 0): ChatRow => ({
  number: e.number,
  name: e.text,
  messages_count: messagesCount,
  created_at: e.created_at,
  updated_at: e.updated_at,
  version: e.version,
});

const columns = sql`number, name, messages_count, UNIX_TIMESTAMP(created_at) * 1000 AS created_at, UNIX_TIMESTAMP(updated_at) * 1000 AS updated_at, version`;

function normalize(row: Record<string, unknown>): ChatRow {
  return {
    number: Number(row.number),
    name: (row.name as string | null) ?? null,
    messages_count: Number(row.messages_count),
    created_at: Math.round(Number(row.created_at)),
    updated_at: Math.round(Number(row.updated_at)),
    version: Number(row.version),
  };
}

export function chatService(deps: Deps) {
  const { redis, keys } = deps;
  const w = writes(deps);
  const live = liveArgs(deps);

  /** The application id plus one more read of its keys in one round trip (they share a hash tag). */
  async function withApp<T>(token: string, read: (p: ChainableCommander) => ChainableCommander): Promise<{ appId: number; value: T }> {
    const [id, value] = (await execAll(read(redis.pipeline().hget(keys.app(token), "id")))) as [string | null, T];
    return { appId: id === null ? await w.appId(token) : Number(id), value };
  }

  async function persisted(appId: number, chat: number): Promise<ChatRow | undefined> {
    const [row] = await w.query<Record<string, unknown>>(
      sql`SELECT ${columns} FROM chats WHERE application_id = ${appId} AND number = ${chat} AND deleted_at IS NULL AND version > 0`,
    );
    return row ? normalize(row) : undefined;
  }

  async function read(token: string, chat: number): Promise<ChatRow> {
    // Overlay before MySQL: an entry leaves the overlay only after its row is committed.
    const { appId, value } = await withApp<string[]>(token, (p) => readEntry(p, keys.pendingChats(token), chat));
    const [pending] = parseEntries(value);
    const row = await persisted(appId, chat);
    if (pending?.deleted) throw notFound("chat");
    if (pending && (!row || pending.version >= row.version)) return fromEntry(pending, row?.messages_count ?? 0);
    if (!row) throw notFound("chat");
    return row;
  }

  async function mutate(token: string, chat: number, action: "updated" | "deleted", name?: string | null) {
    const call = (state: string) => () =>
      redis.scripts.mutate(
        [keys.app(token), keys.chat(token, chat), keys.streamOf(token), keys.pendingChats(token), keys.channel(token, chat), keys.eventLog(token, chat), keys.watch(token, chat)],
        [token, "chat", action, chat, chat, name === undefined || name === null ? "0" : "1", name ?? "", state, live.logLength, live.logTtlMs],
      );
    let reply = await w.run(call(""), token, chat);
    if (reply[0] === "NEEDROW") {
      const row = await persisted(await w.appId(token), chat);
      reply = await w.run(call(row ? JSON.stringify({ number: chat, name: row.name, created_at: row.created_at, updated_at: row.updated_at }) : "gone"), token, chat);
    }
    return JSON.parse(String(reply[2])) as Overlay;
  }

  return {
    async create(token: string, name: string | null, idempotency?: { key: string; fingerprint: string }) {
      const reply = await w.run(
        () =>
          redis.scripts.create_chat(
            [keys.app(token), keys.streamOf(token), keys.pendingChats(token), idempotency ? keys.idempotency(token, idempotency.key) : keys.idempotency(token, ""), keys.chat(token, 0).slice(0, -1), keys.rateLimit(token)],
            [token, name === null ? "0" : "1", name ?? "", idempotency?.fingerprint ?? "", IDEMPOTENCY_TTL_SECONDS, live.rate],
          ),
        token,
      );
      const [status, number, , ms] = reply;
      const at = iso(Number(ms));
      return { replayed: status === "REPLAY", chat: { number: Number(number), name, messages_count: 0, created_at: at, updated_at: at } };
    },

    async get(token: string, chat: number) {
      return toChat(await read(token, chat));
    },

    async update(token: string, chat: number, name: string | null) {
      const state = await mutate(token, chat, "updated", name);
      const current = await read(token, chat).catch(() => undefined);
      return toChat({ ...state, name: state.name ?? null, messages_count: current?.messages_count ?? 0, version: 0 });
    },

    async remove(token: string, chat: number) {
      await mutate(token, chat, "deleted");
    },

    async list(token: string, limit: number, order: "asc" | "desc", cursor?: string) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const overlay = keys.pendingChats(token);
      const { appId, value } = await withApp<string[]>(token, (p) => readWindow(p, overlay, order, after, limit + 1));
      const page = await mergedPage<ChatRow>({
        limit,
        order,
        after,
        window: parseEntries(value),
        readOverlay: async (from, count) => parseEntries((await execAll(readWindow(redis.pipeline(), overlay, order, from, count)))[0] as string[]),
        readRows: async (from, bound, count) => {
          const range = from === undefined ? sql`` : order === "asc" ? sql`AND number > ${from}` : sql`AND number < ${from}`;
          const upTo = bound === undefined ? sql`` : order === "asc" ? sql`AND number <= ${bound}` : sql`AND number >= ${bound}`;
          const rows = await w.query<Record<string, unknown>>(
            sql`SELECT ${columns} FROM chats WHERE application_id = ${appId} AND deleted_at IS NULL AND version > 0 ${range} ${upTo}
                ORDER BY number ${order === "asc" ? sql`ASC` : sql`DESC`} LIMIT ${count}`,
          );
          return rows.map(normalize);
        },
        // A pending chat shows the count of its persisted row, when it has one.
        fromEntry: (e, row) => fromEntry(e, row?.messages_count ?? 0),
      });
      const last = page.items[page.items.length - 1];
      return { data: page.items.map(toChat), next_cursor: page.more && last ? encodeCursor(last.number) : null };
    },
  };
}
