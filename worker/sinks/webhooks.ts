/**
 * The webhooks sink: turns each chat and message event into one queued delivery per subscribed
 * endpoint of its application (worker/webhooks/dispatcher.ts sends them). It only writes Redis, so
 * a slow or dead endpoint never holds this group, let alone the MySQL and search groups; it reads
 * the endpoints from their Redis registry (MySQL only to re-seed a missing one), and MySQL for a
 * chat's message count in chat.updated/chat.deleted payloads, when MySQL answers.
 */
import type { ChatEvent, MessageEvent, StreamEvent } from "../../core/events.ts";
import type { Pool } from "../../core/db/client.ts";
import { groups, type Keys } from "../../core/keys.ts";
import type { Logger } from "../../core/log.ts";
import type { Scripts } from "../../core/redis/scripts.ts";
import { registeredEndpoints, subscribes } from "../../core/webhooks/registry.ts";
import type { Sink } from "../consumer.ts";
import { chatPayload, messagePayload, webhookId } from "../webhooks/payload.ts";
import { isOutage } from "./errors.ts";

/** A queued delivery, as the `jobs` hash holds it (short names: one per delivery in Redis). */
export type DeliveryJob = {
  /** application token and id */
  t: string;
  a: number;
  /** webhook-id */
  m: string;
  /** the body, exactly as signed */
  b: string;
  /** failed attempts so far */
  n: number;
  /** when it was queued (ms) */
  q: number;
};

type Change = ChatEvent | MessageEvent;
const ENQUEUE_CHUNK = 200;

export function webhooksSink({ pool, scripts, keys, log, onQueued }: { pool: Pool; scripts: Scripts; keys: Keys; log: Logger; onQueued: () => void }): Sink<StreamEvent> {
  /** Persisted message counts of the chats whose update or delete is in the batch; empty when MySQL does not answer in time. */
  async function messageCounts(appId: number, changes: Change[]): Promise<Map<number, number>> {
    const chats = [...new Set(changes.filter((c) => c.type === "chat.updated" || c.type === "chat.deleted").map((c) => c.chat))];
    if (!chats.length) return new Map();
    try {
      const [rows] = (await pool.query({ sql: "SELECT number, messages_count FROM chats WHERE application_id = ? AND number IN (?)", timeout: 1000 }, [appId, chats])) as unknown as [{ number: number; messages_count: number }[]];
      return new Map(rows.map((r) => [Number(r.number), Number(r.messages_count)]));
    } catch (error) {
      log.warn("webhooks: chat counts unavailable, sent as 0", { err: error });
      return new Map();
    }
  }

  return {
    name: "webhooks",
    group: groups.webhooks,
    async handle(items) {
      const byApp = new Map<string, { appId: number; changes: Change[] }>();
      for (const event of items) {
        if (event.type === "application.deleted") continue;
        const app = byApp.get(event.token) ?? { appId: event.appId, changes: [] };
        app.changes.push(event);
        byApp.set(event.token, app);
      }
      const now = Date.now();
      const byShard = new Map<number, { endpoint: string; id: string; job: string }[]>();
      await Promise.all(
        [...byApp].map(async ([token, { appId, changes }]) => {
          const endpoints = await registeredEndpoints(pool, scripts, token, appId);
          if (!endpoints.length) return;
          const counts = await messageCounts(appId, changes);
          const shard = keys.shardOf(token);
          const queue = byShard.get(shard) ?? [];
          byShard.set(shard, queue);
          for (const change of changes) {
            const targets = endpoints.filter((endpoint) => subscribes(endpoint, change.type));
            if (!targets.length) continue;
            const m = webhookId(shard, change.id);
            const b = "body" in change ? messagePayload(change) : chatPayload(change, counts.get(change.chat) ?? 0);
            const job = JSON.stringify({ t: token, a: appId, m, b, n: 0, q: now } satisfies DeliveryJob);
            for (const endpoint of targets) queue.push({ endpoint: endpoint.id, id: `${m}.${endpoint.id}`, job });
          }
        }),
      );
      let queued = 0;
      for (const [shard, deliveries] of byShard) {
        for (let i = 0; i < deliveries.length; i += ENQUEUE_CHUNK) queued += await scripts.webhooksEnqueue({ shard, now, deliveries: deliveries.slice(i, i + ENQUEUE_CHUNK) });
      }
      if (queued) onQueued();
    },
    isTransient: isOutage,
  };
}
