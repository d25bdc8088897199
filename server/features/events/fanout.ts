/**
 * Live events across API processes: the Lua scripts PUBLISH every message event on its chat's
 * channel; each API process holds ONE pattern subscription and hands each event to the SSE clients
 * of that chat connected to it. Payloads are "stream id|type|message json".
 */
import type { RedisClient } from "../../../core/redis/client.ts";
import type { Logger } from "../../../core/log.ts";

export type LiveEvent = { id: string; type: string; message: Record<string, unknown> };
type Listener = (event: LiveEvent) => void;

export function parsePayload(payload: string): LiveEvent | undefined {
  const first = payload.indexOf("|");
  const second = payload.indexOf("|", first + 1);
  if (first < 0 || second < 0) return undefined;
  try {
    return { id: payload.slice(0, first), type: payload.slice(first + 1, second), message: JSON.parse(payload.slice(second + 1)) };
  } catch {
    return undefined;
  }
}

export function createFanout(subscriber: RedisClient, pattern: string, log: Logger) {
  const listeners = new Map<string, Set<Listener>>();
  let subscribed: Promise<unknown> | undefined;

  subscriber.on("pmessage", (_pattern: string, channel: string, payload: string) => {
    const set = listeners.get(channel);
    if (!set?.size) return;
    const event = parsePayload(payload);
    if (!event) return log.warn("malformed live event", { channel: channel.replace(/:[^:]{32}:/, ":***:") });
    for (const listener of set) listener(event);
  });

  return {
    /** Registers a listener for one channel; resolves once the process-wide subscription is active. */
    async listen(channel: string, listener: Listener): Promise<() => void> {
      subscribed ??= subscriber.psubscribe(pattern).catch((error) => {
        subscribed = undefined;
        throw error;
      });
      await subscribed;
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(listener);
      return () => {
        set!.delete(listener);
        if (!set!.size) listeners.delete(channel);
      };
    },
    size: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
  };
}

export type Fanout = ReturnType<typeof createFanout>;
