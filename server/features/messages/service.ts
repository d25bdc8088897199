import { and, eq, isNull } from "drizzle-orm";
import { messages } from "../../../core/db/schema.ts";
import type { Deps } from "../../deps.ts";
import { decodeCursor, keysetOrder, keysetRange } from "../../common/cursor.ts";
import { iso } from "../../common/models.ts";
import { overlayPage, parseEntries, readEntry, readWindow, type OverlayEntry } from "../../common/overlay.ts";
import type { ChatGuard } from "../../common/chat-guard.ts";
import type { RedisState } from "../../common/redis-state.ts";
import { notFound } from "../../errors.ts";

type MessageRow = { number: number; chat_number: number; body: string; created_at: number; updated_at: number; version: number };
type MessageState = Omit<MessageRow, "version">;

const fromEntry = (e: OverlayEntry, chat: number): MessageRow => ({
  number: e.number,
  chat_number: chat,
  body: e.text ?? "",
  created_at: e.created_at,
  updated_at: e.updated_at,
  version: e.version,
});

export const toMessage = (m: MessageState) => ({
  number: m.number,
  chat_number: m.chat_number,
  body: m.body,
  created_at: iso(m.created_at),
  updated_at: iso(m.updated_at),
});

const columns = {
  number: messages.number,
  chat_number: messages.chatNumber,
  body: messages.body,
  created_at: messages.createdAt,
  updated_at: messages.updatedAt,
  version: messages.version,
};

const fromRow = (r: { number: number; chat_number: number; body: string; created_at: Date; updated_at: Date; version: number }): MessageRow => ({
  ...r,
  created_at: r.created_at.getTime(),
  updated_at: r.updated_at.getTime(),
});

export function messageService({ db, readDb, redis, scripts, keys }: Deps, state: RedisState, guard: ChatGuard) {
  const live = (appId: number, chat: number) => and(eq(messages.applicationId, appId), eq(messages.chatNumber, chat), isNull(messages.deletedAt));

  /** The live row; from the replica (`readDb`) for a read, from the primary for a write's NEEDROW. */
  async function persisted(appId: number, chat: number, n: number, from = readDb): Promise<MessageRow | undefined> {
    const [row] = await from.select(columns).from(messages).where(and(live(appId, chat), eq(messages.number, n)));
    return row ? fromRow(row) : undefined;
  }

  async function mutate(token: string, chat: number, n: number, action: "updated" | "deleted", body?: string) {
    const call = (persistedState: string) => () => scripts.mutate({ token, kind: "message", action, chat, number: n, value: body, persisted: persistedState });
    let reply = await state.run(call(""), token, chat);
    if (reply.status === "NEEDROW") {
      const row = await persisted(await state.appId(token), chat, n, db);
      const { version: _, ...rowState } = row ?? { version: 0 };
      reply = await state.run(call(row ? JSON.stringify(rowState) : "gone"), token, chat);
    }
    if (reply.status !== "OK") throw notFound("message");
    return reply.state as MessageState;
  }

  return {
    async create(token: string, chat: number, body: string, idempotency?: { key: string; fingerprint: string }) {
      const reply = await state.run(() => scripts.createMessage({ token, chat, body, idempotencyKey: idempotency?.key, fingerprint: idempotency?.fingerprint }), token, chat);
      return { replayed: reply.status === "REPLAY", message: toMessage({ number: reply.number, chat_number: chat, body, created_at: reply.ms, updated_at: reply.ms }) };
    },

    async get(token: string, chat: number, n: number) {
      const { appId, value } = await guard.withChat<string[]>(token, chat, (p) => readEntry(p, keys.pending(token, chat), n));
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
      const { appId, value } = await guard.withChat<string[]>(token, chat, (p) => readWindow(p, overlay, order, after, limit + 1));
      const rows = (from: number | undefined, bound: number | undefined, count: number) =>
        readDb.select(columns).from(messages).where(and(live(appId, chat), ...keysetRange(messages.number, order, from, bound))).orderBy(keysetOrder(messages.number, order)).limit(count);
      const page = await overlayPage<MessageRow>(redis, overlay, { limit, order, after, window: value, readRows: async (...at) => (await rows(...at)).map(fromRow), fromEntry: (e) => fromEntry(e, chat) });
      return { data: page.items.map(toMessage), next_cursor: page.next_cursor };
    },
  };
}
