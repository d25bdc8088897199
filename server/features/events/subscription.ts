/**
 * One chat's live events for one client, whatever the transport (SSE or WebSocket): replays the
 * chat's event log after `resumeFrom`, then delivers live events from the process's fan-out, holding
 * those that arrive during the replay so that nothing is skipped or sent twice.
 */
import { compareStreamIds } from "../../../core/events.ts";
import type { Deps } from "../../deps.ts";
import { toMessage } from "../messages/service.ts";
import type { Fanout, LiveEvent } from "./fanout.ts";

export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export type Delivery = { id: string; type: string; message: ReturnType<typeof toMessage> };

/** How often a listening process renews the chat's watch key (its TTL is the event log's). */
const WATCH_RENEW_MS = 30_000;

export async function subscribe(
  { redis, keys, config }: Deps,
  fanout: Fanout,
  target: { token: string; chat: number; resumeFrom?: string },
  deliver: (event: Delivery) => void,
): Promise<() => void> {
  let last = target.resumeFrom ?? "0-0";
  let replaying = true;
  const held: LiveEvent[] = [];
  const send = (event: LiveEvent) => {
    if (compareStreamIds(event.id, last) <= 0) return;
    last = event.id;
    deliver({ id: event.id, type: event.type, message: toMessage(event.message as Parameters<typeof toMessage>[0]) });
  };
  // Events are logged and published only while their chat is watched: mark it before listening.
  const watch = keys.watch(target.token, target.chat);
  const ttl = Math.max(config.eventLogTtlSeconds * 1000, 2 * WATCH_RENEW_MS);
  await redis.set(watch, "1", "PX", ttl);
  const renew = setInterval(() => redis.set(watch, "1", "PX", ttl).catch(() => {}), WATCH_RENEW_MS);
  const stopListening = await fanout.listen(keys.channel(target.token, target.chat), (event) => (replaying ? held.push(event) : send(event))).catch((error) => {
    clearInterval(renew);
    throw error;
  });
  const unlisten = () => {
    clearInterval(renew);
    stopListening();
  };
  try {
    if (target.resumeFrom) {
      const missed = (await redis.xrange(keys.eventLog(target.token, target.chat), `(${target.resumeFrom}`, "+")) as [string, string[]][];
      for (const [id, fields] of missed) {
        send({ id, type: fields[fields.indexOf("e") + 1]!, message: JSON.parse(fields[fields.indexOf("m") + 1]!) });
      }
    }
  } catch (error) {
    unlisten();
    throw error;
  }
  replaying = false;
  for (const event of held) send(event);
  return unlisten;
}
