/**
 * The body of a webhook delivery (SPEC §5.7): `{ type, timestamp, data }`, with the chat or the
 * message as the API shows it (a delete carries it as it was), and the `webhook-id` of its event.
 */
import type { ChatEvent, MessageEvent } from "../../core/events.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** `msg_` + the stream shard and entry id: unique per event, the same on every attempt. */
export const webhookId = (shard: number, entryId: string) => `msg_${shard}_${entryId}`;

/** When the change happened: the delete's time for a delete, else the last update. */
const happenedAt = (event: ChatEvent | MessageEvent) => iso(event.deletedAt ?? event.updatedAt);

export function messagePayload(event: MessageEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: happenedAt(event),
    data: {
      chat_number: event.chat,
      message: { number: event.number, chat_number: event.chat, body: event.body, created_at: iso(event.createdAt), updated_at: iso(event.updatedAt) },
    },
  });
}

/** `messagesCount`: the chat's persisted count (SPEC §3.4: counts may lag), 0 for a new chat. */
export function chatPayload(event: ChatEvent, messagesCount: number): string {
  return JSON.stringify({
    type: event.type,
    timestamp: happenedAt(event),
    data: {
      chat: { number: event.chat, name: event.name, messages_count: messagesCount, created_at: iso(event.createdAt), updated_at: iso(event.updatedAt) },
    },
  });
}
