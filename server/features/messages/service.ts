import type { Deps } from "../../deps.ts";
import { decodeCursor } from "../../common/cursor.ts";
import { iso } from "../../common/models.ts";
import { overlayPage, parseEntries, readEntry, readWindow, type OverlayEntry } from "../../common/overlay.ts";
import type { ChatGuard } from "../../common/chat-guard.ts";
import type { RedisState } from "../../common/redis-state.ts";
import { notFound } from "../../errors.ts";
import { messageRows, type MessageRow } from "./rows.ts";

/** A message's state as the scripts and events carry it: times in epoch milliseconds. */
type MessageState = { number: number; chat_number: number; body: string; created_at: number; updated_at: number };

const fromEntry = (e: OverlayEntry, chat: number): MessageRow => ({
  number: e.number,
  chat_number: chat,
  body: e.text ?? "",
  created_at: iso(e.created_at),
  updated_at: iso(e.updated_at),
  version: e.version,
});

export const toMessage = (m: MessageState) => ({
  number: m.number,
  chat_number: m.chat_number,
  body: m.body,
  created_at: iso(m.created_at),
  updated_at: iso(m.updated_at),
});

/** A read row as the API answers it (its times are ISO already). */
const fromRow = (m: MessageRow) => ({ number: m.number, chat_number: m.chat_number, body: m.body, created_at: m.created_at, updated_at: m.updated_at });

export function messageService({ pool, readPool, redis, scripts, keys }: Deps, state: RedisState, guard: ChatGuard) {
  // Reads from the replica (DATABASE_READ_URL, else the primary); a write's NEEDROW from the primary.
  const replica = messageRows(readPool);
  const primary = messageRows(pool);

  async function mutate(token: string, chat: number, n: number, action: "updated" | "deleted", body?: string) {
    const call = (persistedState: string) => () => scripts.mutate({ token, kind: "message", action, chat, number: n, value: body, persisted: persistedState });
    let reply = await state.run(call(""), token, chat);
    if (reply.status === "NEEDROW") {
      const row = await primary.one(await state.appId(token), chat, n);
      const rowState: MessageState | undefined = row && { ...fromRow(row), created_at: Date.parse(row.created_at), updated_at: Date.parse(row.updated_at) };
      reply = await state.run(call(rowState ? JSON.stringify(rowState) : "gone"), token, chat);
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
      const found = pending ? fromEntry(pending, chat) : await replica.one(appId, chat, n);
      if (!found) throw notFound("message");
      return fromRow(found);
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
      const page = await overlayPage<MessageRow>(redis, overlay, { limit, order, after, window: value, readRows: (from, bound, count) => replica.page(appId, chat, order, from, bound, count), fromEntry: (e) => fromEntry(e, chat) });
      return { data: page.items.map(fromRow), next_cursor: page.next_cursor };
    },
  };
}
