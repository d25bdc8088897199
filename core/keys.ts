/**
 * Every Redis key, stream and group name, in one place.
 *
 * An application and everything under it (its chats, counters, pending writes, idempotency records)
 * live under the hash tag of the stream shard the application maps to, so each script touches one
 * Redis Cluster slot and the events of one application stay in order in one stream.
 */

/** FNV-1a, 32 bit: stable across processes and versions (the shard of a token must never change). */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function shardOf(token: string, shards: number): number {
  return fnv1a(token) % shards;
}

export const groups = { mysql: "mysql", search: "search", webhooks: "webhooks" } as const;
export type GroupName = (typeof groups)[keyof typeof groups];

export function keysFor(shards: number) {
  const tag = (shard: number) => `{s${shard}}`;
  // A create builds seven keys of one token: its hash tag is computed once (FNV over the token
  // each time was a twentieth of a create's API CPU). Bounded: cleared when it holds 10,000 tokens.
  const tags = new Map<string, string>();
  const appTag = (token: string) => {
    let found = tags.get(token);
    if (found === undefined) {
      if (tags.size >= 10_000) tags.clear();
      found = tag(shardOf(token, shards));
      tags.set(token, found);
    }
    return found;
  };
  return {
    shards,
    stream: (shard: number) => `stream:${tag(shard)}`,
    streams: () => Array.from({ length: shards }, (_, shard) => `stream:${tag(shard)}`),
    streamOf: (token: string) => `stream:${appTag(token)}`,
    deadLetter: "stream:dead-letter",
    /** Written before a worker's WAIT (REDIS_WAIT_REPLICAS): in the stream's slot, so on its node. */
    replicationMark: (stream: string) => `${stream}:replicated`,
    app: (token: string) => `app:${appTag(token)}:${token}`,
    /**
     * This Redis instance's identity for the application's hash tag, never in the AOF nor on a
     * replica (core/redis/scripts/_instance.lua): counters validated under another one are re-seeded.
     */
    instance: (token: string) => `instance:${appTag(token)}`,
    chat: (token: string, chat: number) => `chat:${appTag(token)}:${token}:${chat}`,
    /** What every chat hash of an application starts with (create_chat appends the new number). */
    chatPrefix: (token: string) => `chat:${appTag(token)}:${token}:`,
    /** Chats accepted but not yet persisted to MySQL: a sorted set by number (server/common/overlay.ts). */
    pendingChats: (token: string) => `overlaychats:${appTag(token)}:${token}`,
    /** Messages accepted but not yet persisted to MySQL: a sorted set by number (server/common/overlay.ts). */
    pending: (token: string, chat: number) => `overlay:${appTag(token)}:${token}:${chat}`,
    idempotency: (token: string, key: string) => `idem:${appTag(token)}:${token}:${key}`,
    /** Application creates have no token yet: their idempotency records are global. */
    appIdempotency: (key: string) => `idem:applications:${key}`,
    rateLimit: (token: string) => `rate:${appTag(token)}:${token}`,
    channel: (token: string, chat: number) => `events:${appTag(token)}:${token}:${chat}`,
    /** One pattern subscription per API process receives the events of every chat. */
    channelPattern: "events:*",
    eventLog: (token: string, chat: number) => `eventlog:${appTag(token)}:${token}:${chat}`,
    /** Present while a client listens to the chat's live events: only then are they logged and published. */
    watch: (token: string, chat: number) => `watch:${appTag(token)}:${token}:${chat}`,
    /** The application's webhook endpoints, for the worker (core/webhooks/registry.ts): a hash by id. */
    webhooks: (token: string) => `webhooks:${appTag(token)}:${token}`,
    /** The shard an application's events and webhook deliveries live in. */
    shardOf: (token: string) => shardOf(token, shards),
    /**
     * Webhook deliveries of one stream shard (worker/webhooks/): each endpoint's queue is a sorted
     * set by due time (`queuePrefix` + endpoint id), `ready` holds each endpoint with its earliest
     * due time, `jobs` the deliveries by id, `stats` the delivery counters /metrics reads.
     */
    webhookDeliveries: (shard: number) => ({
      ready: `whready:${tag(shard)}`,
      jobs: `whjobs:${tag(shard)}`,
      stats: `whstats:${tag(shard)}`,
      queuePrefix: `whqueue:${tag(shard)}:`,
    }),
  };
}

export type Keys = ReturnType<typeof keysFor>;
