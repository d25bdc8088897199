/**
 * The MySQL sink: one transaction per batch. Rows are upserted last-writer-wins by version, a
 * tombstone (deleted_at) is never lifted, and the counts move by what the batch changed (read with
 * FOR UPDATE first), so a redelivered batch changes nothing twice. After the commit, the pending
 * overlay entries that are now persisted leave Redis; with DATABASE_READ_URL, only once the replica
 * the API reads has applied the commit too (./replica.ts), deletes and tombstones included.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/mysql2";
import type { PoolConnection } from "mysql2/promise";
import { applications, chats, messages } from "../../core/db/schema.ts";
import type { Pool } from "../../core/db/client.ts";
import { newerState, type ChatEvent, type MessageEvent, type StreamEvent } from "../../core/events.ts";
import type { Keys } from "../../core/keys.ts";
import { execAll, type RedisClient } from "../../core/redis/client.ts";
import type { Scripts } from "../../core/redis/scripts.ts";
import type { Sink } from "../consumer.ts";
import { chunksByBytes, MAX_STATEMENT_BYTES, utf8Bound } from "./chunks.ts";
import { isOutage } from "./errors.ts";
import { ReplicaBehind, type ReplicaWaiter } from "./replica.ts";

type RowState = { version: number; deleted: boolean };
const key2 = (a: number, c: number) => `${a}:${c}`;
const key3 = (a: number, c: number, n: number) => `${a}:${c}:${n}`;
const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function newest<E extends ChatEvent | MessageEvent>(events: E[], keyOf: (e: E) => string): Map<string, E> {
  const out = new Map<string, E>();
  for (const e of events) {
    const k = keyOf(e);
    const prev = out.get(k);
    out.set(k, prev ? newerState(prev, e) : e);
  }
  return out;
}

/** +1 when a row becomes live, -1 when a live row is deleted, 0 otherwise. */
function liveDelta(before: RowState | undefined, after: { deletedAt: number | null; version: number }): number {
  const wasLive = before !== undefined && !before.deleted && before.version > 0;
  const isLive = after.deletedAt === null && !(before?.deleted ?? false);
  if (!wasLive && isLive) return 1;
  if (wasLive && !isLive) return -1;
  return 0;
}

/**
 * Last writer wins by version and a tombstone is never lifted: the value and updated_at change only
 * for a newer version of a live row. MySQL applies the assignments left to right, so version and
 * deleted_at come last, after the columns whose new value depends on their old values.
 */
const lastWriterWins = (column: "name" | "body") => `
  ${column} = IF(VALUES(version) > version AND deleted_at IS NULL, VALUES(${column}), ${column}),
  created_at = LEAST(created_at, VALUES(created_at)),
  updated_at = IF(VALUES(version) > version AND deleted_at IS NULL, VALUES(updated_at), updated_at),
  deleted_at = COALESCE(deleted_at, VALUES(deleted_at)),
  version = GREATEST(version, VALUES(version))`;

type ChatDelta = { a: number; c: number; delta: number; ts: number };
type LockedRow = { a: number; c: number; v: number; d: number };

/**
 * `(application_id = ? AND <rest>) OR …` for `count` rows of one table, keyed by application first.
 * Plain SQL with placeholders: the sink runs it for every batch, and building it with the query
 * builder cost more CPU than MySQL spent running it.
 */
const byParent = (count: number, rest: string) => Array.from({ length: count }, () => `(application_id = ? AND ${rest})`).join(" OR ");

/** A count moved by a whole-number delta (never below zero); the delta comes from our own arithmetic. */
const countChange = (column: string, delta: number) =>
  delta > 0 ? `${column} + ${Math.trunc(delta)}` : `${column} - LEAST(${column}, ${Math.trunc(-delta)})`;

/**
 * The steps of one batch, in one transaction on `conn`. Those run for every batch are plain SQL (one
 * statement each, whatever the batch holds); drizzle's query builder says the rare ones.
 */
function batchSteps(conn: PoolConnection) {
  const db = drizzle(conn);
  return {
    /** Applications still alive: events of one deleted meanwhile are dropped (its delete cleans up). */
    async liveApplications(appIds: number[]): Promise<Set<number>> {
      if (!appIds.length) return new Set();
      const rows = await db.select({ id: applications.id }).from(applications).where(inArray(applications.id, appIds));
      return new Set(rows.map((r) => Number(r.id)));
    },

    /** Every chat the batch touches, locked, with its state before the batch. */
    async lockChats(touched: [number, number][]): Promise<Map<string, RowState>> {
      const before = new Map<string, RowState>();
      if (!touched.length) return before;
      const [rows] = (await conn.query(`SELECT application_id AS a, number AS c, version AS v, deleted_at IS NOT NULL AS d FROM chats WHERE ${byParent(touched.length, "number = ?")} FOR UPDATE`, touched.flat())) as unknown as [LockedRow[]];
      for (const r of rows) before.set(key2(Number(r.a), Number(r.c)), { version: Number(r.v), deleted: !!Number(r.d) });
      return before;
    },

    // The two upserts are raw SQL: drizzle writes ON DUPLICATE KEY UPDATE assignments in the table's
    // column order (version before deleted_at and updated_at), but their meaning depends on their order.
    async upsertChats(events: ChatEvent[]): Promise<void> {
      if (!events.length) return;
      const rows = events.map((e) => [e.appId, e.chat, e.name, 0, e.version, date(e.deletedAt), date(e.createdAt), date(e.updatedAt)]);
      await conn.query(`INSERT INTO chats (application_id, number, name, messages_count, version, deleted_at, created_at, updated_at) VALUES ? ON DUPLICATE KEY UPDATE ${lastWriterWins("name")}`, [rows]);
    },

    /** The messages' rows before the batch, locked. */
    async lockMessages(events: MessageEvent[]): Promise<Map<string, RowState>> {
      const byChat = new Map<string, { a: number; c: number; numbers: number[] }>();
      for (const e of events) {
        const entry = byChat.get(key2(e.appId, e.chat)) ?? { a: e.appId, c: e.chat, numbers: [] };
        entry.numbers.push(e.number);
        byChat.set(key2(e.appId, e.chat), entry);
      }
      const chatsOf = [...byChat.values()];
      const [rows] = (await conn.query(
        `SELECT application_id AS a, chat_number AS c, number AS n, version AS v, deleted_at IS NOT NULL AS d FROM messages WHERE ${byParent(chatsOf.length, "chat_number = ? AND number IN (?)")} FOR UPDATE`,
        chatsOf.flatMap((x) => [x.a, x.c, x.numbers]),
      )) as unknown as [(LockedRow & { n: number })[]];
      const before = new Map<string, RowState>();
      for (const r of rows) before.set(key3(Number(r.a), Number(r.c), Number(r.n)), { version: Number(r.v), deleted: !!Number(r.d) });
      return before;
    },

    async upsertMessages(events: MessageEvent[]): Promise<void> {
      for (const chunk of chunksByBytes(events, (e) => 100 + utf8Bound(e.body), MAX_STATEMENT_BYTES)) {
        const rows = chunk.map((e) => [e.appId, e.chat, e.number, e.body, e.version, date(e.deletedAt), date(e.createdAt), date(e.updatedAt)]);
        await conn.query(`INSERT INTO messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ? ON DUPLICATE KEY UPDATE ${lastWriterWins("body")}`, [rows]);
      }
    },

    /**
     * A message can overtake its chat's create event (two consumers): a placeholder row (version 0,
     * hidden from reads) carries the count until the chat event fills it in.
     */
    async placeholders(missing: ChatDelta[]): Promise<void> {
      if (!missing.length) return;
      await db
        .insert(chats)
        .ignore()
        .values(missing.map((d) => ({ applicationId: d.a, number: d.c, name: null, messagesCount: 0, version: 0, createdAt: new Date(d.ts), updatedAt: new Date(d.ts) })));
    },

    /** Every count the batch moved, in one statement per table (a CASE per row). */
    async moveCounts(chatDeltas: ChatDelta[], appDeltas: Map<number, number>): Promise<void> {
      const moved = chatDeltas.filter((d) => d.delta);
      if (moved.length) {
        const cases = moved.map((d) => `WHEN application_id = ? AND number = ? THEN ${countChange("messages_count", d.delta)}`).join(" ");
        await conn.query(`UPDATE chats SET messages_count = CASE ${cases} ELSE messages_count END WHERE ${byParent(moved.length, "number = ?")}`, [
          ...moved.flatMap((d) => [d.a, d.c]),
          ...moved.flatMap((d) => [d.a, d.c]),
        ]);
      }
      const apps = [...appDeltas].filter(([, delta]) => delta);
      if (apps.length) {
        const cases = apps.map(([, delta]) => `WHEN id = ? THEN ${countChange("chats_count", delta)}`).join(" ");
        await conn.query(`UPDATE applications SET chats_count = CASE ${cases} ELSE chats_count END WHERE id IN (?)`, [...apps.map(([id]) => id), apps.map(([id]) => id)]);
      }
    },

    /** The messages of deleted chats, and everything of deleted applications. */
    async removeDeleted(deleted: [number, number][], appIds: number[]): Promise<void> {
      if (deleted.length) await db.delete(messages).where(or(...deleted.map(([a, c]) => and(eq(messages.applicationId, a), eq(messages.chatNumber, c)))));
      if (appIds.length) {
        await db.delete(messages).where(inArray(messages.applicationId, appIds));
        await db.delete(chats).where(inArray(chats.applicationId, appIds));
      }
    },
  };
}

/** Applies one batch in one transaction; returns what was applied, for releasing the overlay. */
async function apply(conn: PoolConnection, events: StreamEvent[]) {
  const step = batchSteps(conn);
  const changes = events.filter((e): e is ChatEvent | MessageEvent => e.type !== "application.deleted");
  const live = await step.liveApplications([...new Set(changes.map((e) => e.appId))]);
  const chatEvents = newest(changes.filter((e): e is ChatEvent => e.type.startsWith("chat.") && live.has(e.appId)), (e) => key2(e.appId, e.chat));
  const messageEvents = newest(changes.filter((e): e is MessageEvent => e.type.startsWith("message.") && live.has(e.appId)), (e) => key3(e.appId, e.chat, e.number));

  const touched = new Map<string, [number, number]>();
  for (const e of [...chatEvents.values(), ...messageEvents.values()]) touched.set(key2(e.appId, e.chat), [e.appId, e.chat]);
  const chatsBefore = await step.lockChats([...touched.values()]);

  // Chats: the applications' counts move by the chats that became live or were deleted.
  const appDeltas = new Map<number, number>();
  for (const [k, e] of chatEvents) {
    const delta = liveDelta(chatsBefore.get(k), e);
    if (delta) appDeltas.set(e.appId, (appDeltas.get(e.appId) ?? 0) + delta);
  }
  await step.upsertChats([...chatEvents.values()]);
  const deletedChats = [...chatEvents.values()].filter((e) => e.deletedAt !== null);

  // Messages of deleted chats are dropped; the rest move their chat's count by what they changed.
  const chatDeleted = (a: number, c: number) => chatsBefore.get(key2(a, c))?.deleted || chatEvents.get(key2(a, c))?.deletedAt != null;
  const messages = [...messageEvents.values()].filter((e) => !chatDeleted(e.appId, e.chat));
  const chatDeltas = new Map<string, ChatDelta>();
  if (messages.length) {
    const before = await step.lockMessages(messages);
    for (const e of messages) {
      const entry = chatDeltas.get(key2(e.appId, e.chat)) ?? { a: e.appId, c: e.chat, delta: 0, ts: e.createdAt };
      entry.delta += liveDelta(before.get(key3(e.appId, e.chat, e.number)), e);
      entry.ts = Math.min(entry.ts, e.createdAt);
      chatDeltas.set(key2(e.appId, e.chat), entry);
    }
    await step.upsertMessages(messages);
  }
  await step.placeholders([...chatDeltas.values()].filter((d) => !chatsBefore.has(key2(d.a, d.c)) && !chatEvents.has(key2(d.a, d.c))));
  await step.moveCounts([...chatDeltas.values()], appDeltas);
  await step.removeDeleted(
    deletedChats.map((e) => [e.appId, e.chat]),
    events.filter((e) => e.type === "application.deleted").map((e) => e.appId),
  );
  return { chats: [...chatEvents.values()], messages: [...messageEvents.values()], deletedChats };
}

export function mysqlSink({ pool, redis, scripts, keys, replica }: { pool: Pool; redis: RedisClient; scripts: Scripts; keys: Keys; replica?: ReplicaWaiter }): Sink<StreamEvent> {
  /** The overlay entries now persisted (same or older version) leave Redis. */
  async function release(applied: { chats: ChatEvent[]; messages: MessageEvent[]; deletedChats: ChatEvent[] }) {
    const byOverlay = new Map<string, { token: string; chat?: number; persisted: { number: number; version: number }[] }>();
    // Grouped by token and chat first: the overlay's key (with its hash tag) is then built once per chat, not per message.
    const add = (group: string, token: string, chat: number | undefined, number: number, version: number) => {
      let entry = byOverlay.get(group);
      if (!entry) byOverlay.set(group, (entry = { token, chat, persisted: [] }));
      entry.persisted.push({ number, version });
    };
    for (const e of applied.chats) add(e.token, e.token, undefined, e.chat, e.version);
    for (const e of applied.messages) add(`${e.token}:${e.chat}`, e.token, e.chat, e.number, e.version);
    const pipeline = redis.pipeline();
    for (const input of byOverlay.values()) scripts.queue(pipeline, "releasePending", input);
    for (const e of applied.deletedChats) pipeline.del(keys.pending(e.token, e.chat));
    await execAll(pipeline);
  }

  return {
    name: "mysql",
    group: "mysql",
    // A replica behind is an outage too: the batch is retried (not acknowledged, not dead-lettered).
    isTransient: (error) => error instanceof ReplicaBehind || isOutage(error),
    async handle(events) {
      const conn = await pool.getConnection();
      let applied;
      let position: string | undefined;
      try {
        await conn.beginTransaction();
        applied = await apply(conn, events);
        await conn.commit();
      } catch (error) {
        await conn.rollback().catch(() => {});
        conn.release();
        throw error;
      }
      try {
        if (replica) position = await replica.position(conn);
      } finally {
        conn.release();
      }
      if (replica) await replica.reached(position!);
      await release(applied);
    },
  };
}
