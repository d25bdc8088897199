/**
 * The MySQL sink: one transaction per batch. Rows are upserted last-writer-wins by version, a
 * tombstone (deleted_at) is never lifted, and the counts move by what the batch changed (the rows
 * read with FOR UPDATE first, or, for creates, inserted by a plain INSERT that fails if a row exists),
 * so a redelivered batch changes nothing twice. After the commit, the pending
 * overlay entries that are now persisted leave Redis (the batch's follow-up, which the consumer runs
 * while the next batch is applied); with DATABASE_READ_URL, only once the replica the API reads has
 * applied the commit too (./replica.ts), deletes and tombstones included.
 */
import { and, eq, inArray, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/mysql2";
import type { PoolConnection } from "mysql2/promise";
import { chats, messages } from "../../core/db/schema.ts";
import type { Pool } from "../../core/db/client.ts";
import { newerState, type ChatEvent, type MessageEvent, type StreamEvent } from "../../core/events.ts";
import type { Keys } from "../../core/keys.ts";
import { execAll, type RedisClient } from "../../core/redis/client.ts";
import type { Scripts } from "../../core/redis/scripts.ts";
import type { Sink } from "../consumer.ts";
import { chunksByBytes, MAX_STATEMENT_BYTES, utf8Bound } from "./chunks.ts";
import { isOutage } from "./errors.ts";
import { chatRow, messageRow } from "./rows.ts";
import { ReplicaBehind, type ReplicaWaiter } from "./replica.ts";

type RowState = { version: number; deleted: boolean };
const key2 = (a: number, c: number) => `${a}:${c}`;
const key3 = (a: number, c: number, n: number) => `${a}:${c}:${n}`;

/** One chat the batch touches: its newest state in the batch, if any, and the newest state of each of its messages. */
type ChatGroup = { a: number; c: number; chat?: ChatEvent; messages: Map<number, MessageEvent> };

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

const ER_DUP_ENTRY = 1062;

const messageChunks = (events: MessageEvent[]) => chunksByBytes(events, (e) => 150 + utf8Bound(e.body), MAX_STATEMENT_BYTES);

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
      const [rows] = (await conn.query("SELECT id FROM applications WHERE id IN (?)", [appIds])) as unknown as [{ id: number }[]];
      return new Set(rows.map((r) => Number(r.id)));
    },

    /** Every chat the batch touches, locked, with its state before the batch. */
    async lockChats(touched: ChatGroup[]): Promise<Map<string, RowState>> {
      const before = new Map<string, RowState>();
      if (!touched.length) return before;
      const [rows] = (await conn.query(`SELECT application_id AS a, number AS c, version AS v, deleted_at IS NOT NULL AS d FROM chats WHERE ${byParent(touched.length, "number = ?")} FOR UPDATE`, touched.flatMap((g) => [g.a, g.c]))) as unknown as [LockedRow[]];
      for (const r of rows) before.set(key2(Number(r.a), Number(r.c)), { version: Number(r.v), deleted: !!Number(r.d) });
      return before;
    },

    // The two upserts are raw SQL: drizzle writes ON DUPLICATE KEY UPDATE assignments in the table's
    // column order (version before deleted_at and updated_at), but their meaning depends on their order.
    async upsertChats(events: ChatEvent[]): Promise<void> {
      if (!events.length) return;
      await conn.query(`INSERT INTO chats (application_id, number, name, messages_count, version, deleted_at, created_at, updated_at) VALUES ${events.map(chatRow).join(",")} ON DUPLICATE KEY UPDATE ${lastWriterWins("name")}`);
    },

    /** The messages' rows before the batch, locked. */
    async lockMessages(groups: { a: number; c: number; messages: MessageEvent[] }[]): Promise<Map<string, RowState>> {
      const [rows] = (await conn.query(
        `SELECT application_id AS a, chat_number AS c, number AS n, version AS v, deleted_at IS NOT NULL AS d FROM messages WHERE ${byParent(groups.length, "chat_number = ? AND number IN (?)")} FOR UPDATE`,
        groups.flatMap((g) => [g.a, g.c, g.messages.map((e) => e.number)]),
      )) as unknown as [(LockedRow & { n: number })[]];
      const before = new Map<string, RowState>();
      for (const r of rows) before.set(key3(Number(r.a), Number(r.c), Number(r.n)), { version: Number(r.v), deleted: !!Number(r.d) });
      return before;
    },

    async upsertMessages(events: MessageEvent[]): Promise<void> {
      for (const chunk of messageChunks(events)) {
        await conn.query(`INSERT INTO messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ${chunk.map(messageRow).join(",")} ON DUPLICATE KEY UPDATE ${lastWriterWins("body")}`);
      }
    },

    /**
     * Messages whose newest state is their create, written with a plain INSERT and no lock read: for
     * a new row (the usual case) there is nothing to read. If one exists already (a redelivered batch,
     * a second consumer), MySQL refuses the statement and this returns false having written nothing;
     * the caller then takes the locking path for them. Concurrent inserts of one key wait for each
     * other in InnoDB, so the refusal is certain, not a race.
     */
    async insertNew(events: MessageEvent[]): Promise<boolean> {
      const chunks = messageChunks(events);
      // One statement is atomic by itself; several need a savepoint to undo the earlier ones.
      if (chunks.length > 1) await conn.query("SAVEPOINT new_messages");
      try {
        for (const chunk of chunks) {
          await conn.query(`INSERT INTO messages (application_id, chat_number, number, body, version, deleted_at, created_at, updated_at) VALUES ${chunk.map(messageRow).join(",")}`);
        }
        return true;
      } catch (error) {
        if ((error as { errno?: number }).errno !== ER_DUP_ENTRY) throw error;
        if (chunks.length > 1) await conn.query("ROLLBACK TO SAVEPOINT new_messages");
        return false;
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
  const appIds = new Set<number>();
  const deletedApps: number[] = [];
  for (const e of events) {
    if (e.type === "application.deleted") deletedApps.push(e.appId);
    else appIds.add(e.appId);
  }
  const live = await step.liveApplications([...appIds]);

  // The newest state of each chat and message, by chat. Events of deleted applications are dropped (their delete cleans up).
  const groups = new Map<string, ChatGroup>();
  let group: ChatGroup | undefined;
  for (const e of events) {
    if (e.type === "application.deleted" || !live.has(e.appId)) continue;
    // A batch's events come many to a chat: the last event's group serves until the chat changes.
    if (group?.a !== e.appId || group.c !== e.chat) {
      const k = key2(e.appId, e.chat);
      group = groups.get(k);
      if (!group) groups.set(k, (group = { a: e.appId, c: e.chat, messages: new Map() }));
    }
    if ("number" in e) {
      const prev = group.messages.get(e.number);
      group.messages.set(e.number, prev ? newerState(prev, e) : e);
    } else group.chat = group.chat ? newerState(group.chat, e) : e;
  }
  const chatsBefore = await step.lockChats([...groups.values()]);

  // Chats: the applications' counts move by the chats that became live or were deleted.
  const chatEvents: ChatEvent[] = [];
  const appDeltas = new Map<number, number>();
  for (const [k, g] of groups) {
    if (!g.chat) continue;
    chatEvents.push(g.chat);
    const delta = liveDelta(chatsBefore.get(k), g.chat);
    if (delta) appDeltas.set(g.a, (appDeltas.get(g.a) ?? 0) + delta);
  }
  await step.upsertChats(chatEvents);
  const deletedChats = chatEvents.filter((e) => e.deletedAt !== null);

  // Messages of deleted chats are dropped; the rest move their chat's count by what they changed.
  const released: MessageEvent[][] = [];
  const created: MessageEvent[] = [];
  const kept: { g: ChatGroup; messages: MessageEvent[] }[] = [];
  for (const [k, g] of groups) {
    if (!g.messages.size) continue;
    const messages = [...g.messages.values()];
    released.push(messages);
    if (chatsBefore.get(k)?.deleted || (g.chat && g.chat.deletedAt !== null)) continue;
    for (const e of messages) if (e.type === "message.created") created.push(e);
    kept.push({ g, messages });
  }
  const createdAreNew = created.length > 0 && (await step.insertNew(created));
  const locking = kept.map((x) => ({ a: x.g.a, c: x.g.c, messages: createdAreNew ? x.messages.filter((e) => e.type !== "message.created") : x.messages })).filter((x) => x.messages.length);
  const before = locking.length ? await step.lockMessages(locking) : new Map<string, RowState>();
  const chatDeltas: ChatDelta[] = [];
  for (const { g, messages } of kept) {
    const d: ChatDelta = { a: g.a, c: g.c, delta: 0, ts: messages[0]!.createdAt };
    for (const e of messages) {
      d.delta += liveDelta(createdAreNew && e.type === "message.created" ? undefined : before.get(key3(e.appId, e.chat, e.number)), e);
      if (e.createdAt < d.ts) d.ts = e.createdAt;
    }
    chatDeltas.push(d);
  }
  if (locking.length) await step.upsertMessages(locking.flatMap((x) => x.messages));
  await step.placeholders(chatDeltas.filter((d) => !chatsBefore.has(key2(d.a, d.c)) && !groups.get(key2(d.a, d.c))!.chat));
  await step.moveCounts(chatDeltas, appDeltas);
  await step.removeDeleted(deletedChats.map((e) => [e.appId, e.chat]), deletedApps);
  return { chats: chatEvents, messagesByChat: released, deletedChats };
}

export function mysqlSink({ pool, redis, scripts, keys, replica }: { pool: Pool; redis: RedisClient; scripts: Scripts; keys: Keys; replica?: ReplicaWaiter }): Sink<StreamEvent> {
  /** The overlay entries now persisted (same or older version) leave Redis: one script call per chat, one for the application's chats. */
  async function release(applied: { chats: ChatEvent[]; messagesByChat: MessageEvent[][]; deletedChats: ChatEvent[] }) {
    const pipeline = redis.pipeline();
    const chatsByToken = new Map<string, { number: number; version: number }[]>();
    for (const e of applied.chats) {
      const list = chatsByToken.get(e.token);
      const persisted = { number: e.chat, version: e.version };
      if (list) list.push(persisted);
      else chatsByToken.set(e.token, [persisted]);
    }
    for (const [token, persisted] of chatsByToken) scripts.queue(pipeline, "releasePending", { token, persisted });
    for (const messages of applied.messagesByChat) scripts.queue(pipeline, "releasePending", { token: messages[0]!.token, chat: messages[0]!.chat, persisted: messages });
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
      // Run by the consumer before it acknowledges the batch, while the next batch is applied.
      return () => release(applied);
    },
  };
}
