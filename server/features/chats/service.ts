import { and, eq, gt, isNull } from "drizzle-orm";
import type { ChainableCommander } from "ioredis";
import { chats } from "../../../core/db/schema.ts";
import { execAll } from "../../../core/redis/client.ts";
import type { Deps } from "../../deps.ts";
import { decodeCursor, keysetOrder, keysetRange } from "../../common/cursor.ts";
import { iso } from "../../common/models.ts";
import { overlayPage, parseEntries, readEntry, readWindow, type OverlayEntry } from "../../common/overlay.ts";
import type { RedisState } from "../../common/redis-state.ts";
import { notFound } from "../../errors.ts";

type ChatRow = { number: number; name: string | null; messages_count: number; created_at: number; updated_at: number; version: number };
type ChatState = { number: number; name?: string | null; created_at: number; updated_at: number };

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

const columns = {
  number: chats.number,
  name: chats.name,
  messages_count: chats.messagesCount,
  created_at: chats.createdAt,
  updated_at: chats.updatedAt,
  version: chats.version,
};

const fromRow = (r: { number: number; name: string | null; messages_count: number; created_at: Date; updated_at: Date; version: number }): ChatRow => ({
  ...r,
  created_at: r.created_at.getTime(),
  updated_at: r.updated_at.getTime(),
});

export function chatService({ db, readDb, redis, scripts, keys }: Deps, state: RedisState) {
  // Version 0 marks a placeholder row (a message overtook its chat's create): not a chat yet.
  const live = (appId: number) => and(eq(chats.applicationId, appId), isNull(chats.deletedAt), gt(chats.version, 0));

  /** The application id plus one more read of its keys in one round trip (they share a hash tag). */
  async function withApp<T>(token: string, read: (p: ChainableCommander) => ChainableCommander): Promise<{ appId: number; value: T }> {
    const [id, value] = (await execAll(read(redis.pipeline().hget(keys.app(token), "id")))) as [string | null, T];
    return { appId: id === null ? await state.appId(token) : Number(id), value };
  }

  /** The live row; from the replica (`readDb`) for a read, from the primary for a write's NEEDROW. */
  async function persisted(appId: number, chat: number, from = readDb): Promise<ChatRow | undefined> {
    const [row] = await from.select(columns).from(chats).where(and(live(appId), eq(chats.number, chat)));
    return row ? fromRow(row) : undefined;
  }

  async function read(token: string, chat: number): Promise<ChatRow> {
    // Overlay before MySQL: an entry leaves the overlay only after its row is committed (and, with
    // DATABASE_READ_URL, applied by the replica that readDb reads).
    const { appId, value } = await withApp<string[]>(token, (p) => readEntry(p, keys.pendingChats(token), chat));
    const [pending] = parseEntries(value);
    const row = await persisted(appId, chat);
    if (pending?.deleted) throw notFound("chat");
    if (pending && (!row || pending.version >= row.version)) return fromEntry(pending, row?.messages_count ?? 0);
    if (!row) throw notFound("chat");
    return row;
  }

  async function mutate(token: string, chat: number, action: "updated" | "deleted", name?: string | null) {
    const call = (persistedState: string) => () => scripts.mutate({ token, kind: "chat", action, chat, number: chat, value: name, persisted: persistedState });
    let reply = await state.run(call(""), token, chat);
    if (reply.status === "NEEDROW") {
      const row = await persisted(await state.appId(token), chat, db);
      reply = await state.run(call(row ? JSON.stringify({ number: chat, name: row.name, created_at: row.created_at, updated_at: row.updated_at }) : "gone"), token, chat);
    }
    if (reply.status !== "OK") throw notFound("chat");
    return reply.state as ChatState;
  }

  return {
    async create(token: string, name: string | null, idempotency?: { key: string; fingerprint: string }) {
      const reply = await state.run(() => scripts.createChat({ token, name, idempotencyKey: idempotency?.key, fingerprint: idempotency?.fingerprint }), token);
      const at = iso(reply.ms);
      return { replayed: reply.status === "REPLAY", chat: { number: reply.number, name, messages_count: 0, created_at: at, updated_at: at } };
    },

    async get(token: string, chat: number) {
      return toChat(await read(token, chat));
    },

    async update(token: string, chat: number, name: string | null) {
      const updated = await mutate(token, chat, "updated", name);
      const current = await read(token, chat).catch(() => undefined);
      return toChat({ ...updated, name: updated.name ?? null, messages_count: current?.messages_count ?? 0, version: 0 });
    },

    async remove(token: string, chat: number) {
      await mutate(token, chat, "deleted");
    },

    async list(token: string, limit: number, order: "asc" | "desc", cursor?: string) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      const overlay = keys.pendingChats(token);
      const { appId, value } = await withApp<string[]>(token, (p) => readWindow(p, overlay, order, after, limit + 1));
      const rows = (from: number | undefined, bound: number | undefined, count: number) =>
        readDb.select(columns).from(chats).where(and(live(appId), ...keysetRange(chats.number, order, from, bound))).orderBy(keysetOrder(chats.number, order)).limit(count);
      // A pending chat shows the count of its persisted row, when it has one.
      const page = await overlayPage<ChatRow>(redis, overlay, { limit, order, after, window: value, readRows: async (...at) => (await rows(...at)).map(fromRow), fromEntry: (e, row) => fromEntry(e, row?.messages_count ?? 0) });
      return { data: page.items.map(toChat), next_cursor: page.next_cursor };
    },
  };
}
