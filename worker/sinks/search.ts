/**
 * The Elasticsearch sink: one `_bulk` per batch. Documents have deterministic ids and are written
 * with external versions (the event's version), so a redelivered or out-of-order event is refused
 * by Elasticsearch as a version conflict, which here means "a newer state is already there".
 * Deleting a chat or an application removes its documents by id in batches (no _delete_by_query).
 * It reads neither MySQL nor the API: an outage of MySQL never stalls indexing.
 */
import type { Client } from "@elastic/elasticsearch";
import type { ApplicationDeletedEvent, ChatEvent, MessageEvent, StreamEvent } from "../../core/events.ts";
import type { Keys } from "../../core/keys.ts";
import type { RedisClient } from "../../core/redis/client.ts";
import { chatKey, documentId } from "../../core/search/index.ts";
import type { Sink } from "../consumer.ts";
import { chunksByBytes, MAX_STATEMENT_BYTES, utf8Bound } from "./chunks.ts";
import { isOutage } from "./errors.ts";

/** A document Elasticsearch refused for its content (a mapping error, say): retry, then dead-letter. */
export class RejectedDocumentError extends Error {
  override name = "RejectedDocumentError";
}

type BulkItem = Record<string, { status: number; error?: { type?: string; reason?: string } }>;

export function searchSink({ es, redis, keys, index }: { es: Client; redis: RedisClient; keys: Keys; index: string }): Sink<StreamEvent> {
  /** Chats deleted in Redis (or whose application is gone): their late message events become deletes. */
  async function deadChats(messages: MessageEvent[]): Promise<Set<string>> {
    const chats = [...new Map(messages.map((m) => [`${m.token}:${m.chat}`, m])).values()];
    if (!chats.length) return new Set();
    const pipeline = redis.pipeline();
    for (const m of chats) {
      pipeline.hget(keys.chat(m.token, m.chat), "deleted");
      pipeline.exists(keys.app(m.token));
    }
    const results = (await pipeline.exec()) ?? [];
    const dead = new Set<string>();
    chats.forEach((m, i) => {
      const [e1, deleted] = results[2 * i]!;
      const [e2, appExists] = results[2 * i + 1]!;
      if (e1 || e2) throw e1 ?? e2;
      if (deleted === "1" || appExists === 0) dead.add(`${m.token}:${m.chat}`);
    });
    return dead;
  }

  /** Deletes every document matching `filter`, by id, in pages of 1,000. */
  async function deleteMatching(filter: object, version: number | undefined) {
    await es.indices.refresh({ index });
    let after: unknown[] | undefined;
    for (;;) {
      const page = await es.search({
        index,
        size: 1000,
        _source: false,
        query: { bool: { filter } },
        sort: [{ _doc: "asc" }] as never,
        ...(after ? { search_after: after as never } : {}),
      });
      const hits = page.hits.hits;
      if (!hits.length) return;
      const operations = hits.map((h) => ({
        delete: { _index: index, _id: h._id!, routing: h._routing, ...(version ? { version, version_type: "external" as const } : {}) },
      }));
      await bulk(operations);
      after = hits[hits.length - 1]!.sort;
    }
  }

  async function bulk(operations: object[]) {
    if (!operations.length) return;
    // require_alias: with the alias missing (an index being rebuilt), an index operation fails as an
    // outage and is retried, instead of auto-creating a concrete index under the alias's name.
    // filter_path: only what is read below. A full answer holds ~200 bytes per document (index, id,
    // version, shards, sequence number) that Elasticsearch writes and this process parses for nothing.
    const response = await es.bulk({ operations: operations as never, require_alias: true, filter_path: "errors,items.*.status,items.*.error" });
    if (!response.errors) return;
    const failures: string[] = [];
    let outage = false;
    for (const item of (response.items ?? []) as BulkItem[]) {
      const [action, result] = Object.entries(item)[0]!;
      // 409: a newer version is already indexed; 404: deleting what is already gone.
      if (result.status < 300 || result.status === 409 || (action === "delete" && result.status === 404)) continue;
      // Overload, a failing node, or a missing index (not migrated yet): wait, do not dead-letter.
      if (result.status === 429 || result.status >= 500 || result.error?.type === "index_not_found_exception") outage = true;
      failures.push(`${action} ${result.status} ${result.error?.type ?? ""}: ${result.error?.reason ?? ""}`.slice(0, 300));
    }
    if (!failures.length) return;
    if (outage) throw Object.assign(new Error(`bulk: ${failures[0]}`), { meta: { statusCode: 503 } });
    throw new RejectedDocumentError(`bulk rejected ${failures.length} item(s): ${failures[0]}`);
  }

  return {
    name: "search",
    group: "search",
    isTransient: isOutage,
    async handle(events) {
      const messages = events.filter((e): e is MessageEvent => e.type.startsWith("message."));
      const dead = await deadChats(messages);
      // One action per message: a delete, or an index with its document (never split apart).
      const actions: { lines: object[]; bytes: number }[] = [];
      for (const m of messages) {
        const meta = { _index: index, _id: documentId(m.appId, m.chat, m.number), routing: chatKey(m.appId, m.chat), version: m.version, version_type: "external" };
        if (m.deletedAt !== null || dead.has(`${m.token}:${m.chat}`)) {
          actions.push({ lines: [{ delete: meta }], bytes: 200 });
        } else {
          actions.push({ lines: [{ index: meta }, { app: m.appId, chat: chatKey(m.appId, m.chat), number: m.number, body: m.body, created_at: m.createdAt }], bytes: 300 + utf8Bound(m.body) });
        }
      }
      for (const chunk of chunksByBytes(actions, (a) => a.bytes, MAX_STATEMENT_BYTES)) await bulk(chunk.flatMap((a) => a.lines));
      for (const e of events) {
        if (e.type === "chat.deleted") {
          const chat = e as ChatEvent;
          await deleteMatching({ term: { chat: chatKey(chat.appId, chat.chat) } }, chat.version);
        } else if (e.type === "application.deleted") {
          await deleteMatching({ term: { app: (e as ApplicationDeletedEvent).appId } }, undefined);
        }
      }
    },
  };
}
