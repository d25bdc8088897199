/**
 * One typed function per Lua script (as bullmq's Scripts class does): named keys and arguments in,
 * a typed reply out; server, worker, CLI and bench call these and nothing else. A contract's named
 * keys and arguments are in the script's KEYS/ARGV order, and each .lua header names them in the
 * same order (a unit test compares the two). Scripts are loaded with ioredis `defineCommand`
 * (EVALSHA, falling back to EVAL after a restart or failover flushed the script cache), from the
 * text lua-source.ts assembles.
 */
import type { RedisClient } from "./client.ts";
import { loadLua } from "./lua-source.ts";
import { Cluster, type ChainableCommander } from "ioredis";
import type { Config } from "../config.ts";
import type { Keys } from "../keys.ts";

type Arg = string | number;

/** Settings every create and mutate passes along (from the configuration). */
export type ScriptSettings = {
  ratePerMinute: number;
  logLength: number;
  logTtlMs: number;
  idempotencyTtlSeconds: number;
  /** Replicas that must hold a write script's effects before it counts as done (0: no WAIT). */
  waitReplicas?: number;
  waitTimeoutMs?: number;
};

/** Fewer replicas than REDIS_WAIT_REPLICAS confirmed a write in time (the write itself was made). */
export class ReplicationTimeoutError extends Error {
  override name = "ReplicationTimeoutError";
  constructor(readonly confirmed: number, readonly wanted: number) {
    super(`${confirmed} of ${wanted} replicas confirmed the write in time`);
  }
}

/** An Idempotency-Key is honoured for 24 hours (SPEC §5.1). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

export function scriptSettings(config: Config): ScriptSettings {
  return {
    ratePerMinute: config.rateLimitPerMinute ?? 0,
    logLength: config.eventLogLength,
    logTtlMs: config.eventLogTtlSeconds * 1000,
    idempotencyTtlSeconds: IDEMPOTENCY_TTL_SECONDS,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
  };
}

type Contract<I, R> = {
  file: string;
  /** It changes state a client is answered about: with REDIS_WAIT_REPLICAS, replicas must hold it. */
  writes?: boolean;
  /** The script's KEYS, named, in order. */
  keys(k: Keys, input: I): Record<string, string>;
  /** The script's ARGV, named, in order; an array value is spread (a variadic tail). */
  args(input: I, s: ScriptSettings): Record<string, Arg | Arg[]>;
  reply(raw: unknown): R;
};

const contract = <I, R>(c: Contract<I, R>) => c;

/** Answers a create or mutate gives instead of doing it. */
export type Refusal =
  | { status: "NOAPP" }
  | { status: "NOCHAT" }
  | { status: "NOTFOUND" }
  | { status: "CONFLICT" }
  | { status: "RATELIMITED"; waitMs: number };

export type CreateReply = { status: "OK" | "REPLAY"; number: number; version: number; ms: number } | Refusal;
export type MutateReply = { status: "OK"; version: number; state: Record<string, unknown>; id: string } | { status: "NEEDROW" } | Refusal;

type Raw = (string | number)[];

function refusal(raw: Raw): Refusal | undefined {
  switch (raw[0]) {
    case "NOAPP":
    case "NOCHAT":
    case "NOTFOUND":
    case "CONFLICT":
      return { status: raw[0] };
    case "RATELIMITED":
      return { status: "RATELIMITED", waitMs: Number(raw[1]) };
  }
  return undefined;
}

function createReply(value: unknown): CreateReply {
  const raw = value as Raw;
  const refused = refusal(raw);
  if (refused) return refused;
  if (raw[0] !== "OK" && raw[0] !== "REPLAY") throw new Error(`unexpected script reply ${String(raw[0])}`);
  return { status: raw[0], number: Number(raw[1]), version: Number(raw[2]), ms: Number(raw[3]) };
}

export type ChatCreateInput = { token: string; name: string | null; idempotencyKey?: string; fingerprint?: string };
export type MessageCreateInput = { token: string; chat: number; body: string; idempotencyKey?: string; fingerprint?: string };
export type MutateInput = {
  token: string;
  kind: "chat" | "message";
  action: "updated" | "deleted";
  chat: number;
  /** The message number; the chat number again for a chat. */
  number: number;
  /** The new name or body; null sets a chat's name to null; absent for a delete. */
  value?: string | null;
  /** The persisted state from MySQL as JSON, "gone" when MySQL has none, "" when not read yet. */
  persisted: string;
};

export const contracts = {
  createChat: contract<ChatCreateInput, CreateReply>({
    file: "create_chat",
    writes: true,
    keys: (k, i) => ({
      app: k.app(i.token),
      stream: k.streamOf(i.token),
      overlay: k.pendingChats(i.token),
      idempotency: k.idempotency(i.token, i.idempotencyKey ?? ""),
      chatPrefix: k.chatPrefix(i.token),
      rateLimit: k.rateLimit(i.token),
      instance: k.instance(i.token),
    }),
    args: (i, s) => ({
      token: i.token,
      hasName: i.name === null ? "0" : "1",
      name: i.name ?? "",
      fingerprint: i.fingerprint ?? "",
      idempotencyTtl: s.idempotencyTtlSeconds,
      ratePerMinute: s.ratePerMinute,
    }),
    reply: createReply,
  }),

  createMessage: contract<MessageCreateInput, CreateReply>({
    file: "create_message",
    writes: true,
    keys: (k, i) => ({
      app: k.app(i.token),
      chat: k.chat(i.token, i.chat),
      stream: k.streamOf(i.token),
      overlay: k.pending(i.token, i.chat),
      idempotency: k.idempotency(i.token, i.idempotencyKey ?? ""),
      channel: k.channel(i.token, i.chat),
      rateLimit: k.rateLimit(i.token),
      eventLog: k.eventLog(i.token, i.chat),
      watch: k.watch(i.token, i.chat),
      instance: k.instance(i.token),
    }),
    args: (i, s) => ({
      token: i.token,
      chat: i.chat,
      body: i.body,
      fingerprint: i.fingerprint ?? "",
      idempotencyTtl: s.idempotencyTtlSeconds,
      ratePerMinute: s.ratePerMinute,
      logLength: s.logLength,
      logTtlMs: s.logTtlMs,
    }),
    reply: createReply,
  }),

  mutate: contract<MutateInput, MutateReply>({
    file: "mutate",
    writes: true,
    keys: (k, i) => ({
      app: k.app(i.token),
      chat: k.chat(i.token, i.chat),
      stream: k.streamOf(i.token),
      overlay: i.kind === "chat" ? k.pendingChats(i.token) : k.pending(i.token, i.chat),
      channel: k.channel(i.token, i.chat),
      eventLog: k.eventLog(i.token, i.chat),
      watch: k.watch(i.token, i.chat),
      instance: k.instance(i.token),
    }),
    args: (i, s) => ({
      token: i.token,
      kind: i.kind,
      action: i.action,
      chat: i.chat,
      number: i.number,
      hasValue: i.value === undefined || i.value === null ? "0" : "1",
      value: i.value ?? "",
      persisted: i.persisted,
      logLength: s.logLength,
      logTtlMs: s.logTtlMs,
    }),
    reply: (value) => {
      const raw = value as Raw;
      if (raw[0] === "NEEDROW") return { status: "NEEDROW" };
      const refused = refusal(raw);
      if (refused) return refused;
      if (raw[0] !== "OK") throw new Error(`unexpected script reply ${String(raw[0])}`);
      return { status: "OK", version: Number(raw[1]), state: JSON.parse(String(raw[2])) as Record<string, unknown>, id: String(raw[3]) };
    },
  }),

  rateLimit: contract<{ token: string; perMinute: number }, { allowed: boolean; remaining: number; waitMs: number }>({
    file: "rate_limit",
    keys: (k, i) => ({ rateLimit: k.rateLimit(i.token) }),
    args: (i) => ({ perMinute: i.perMinute }),
    reply: (value) => {
      const [allowed, remaining, wait] = value as [number, number, number];
      return { allowed: allowed === 1, remaining: Number(remaining), waitMs: Number(wait) };
    },
  }),

  /** `chat` absent: the application's chat overlay. */
  releasePending: contract<{ token: string; chat?: number; persisted: { number: number; version: number }[] }, number>({
    file: "release_pending",
    keys: (k, i) => ({ overlay: i.chat === undefined ? k.pendingChats(i.token) : k.pending(i.token, i.chat) }),
    // One argument, not two per number: a batch releases thousands, and each argument costs the client
    // more than the script's parsing. Each pair as its difference from the one before (the script says why).
    args: (i) => {
      let persisted = "";
      let number = 0;
      let version = 0;
      for (const p of i.persisted) {
        persisted += persisted ? `,${p.number - number}:${p.version - version}` : `${p.number}:${p.version}`;
        number = p.number;
        version = p.version;
      }
      return { persisted };
    },
    reply: Number,
  }),

  seedApp: contract<{ token: string; appId: number; maxChat: number }, void>({
    file: "seed_app",
    keys: (k, i) => ({ app: k.app(i.token), instance: k.instance(i.token) }),
    args: (i) => ({ appId: i.appId, maxChat: i.maxChat }),
    reply: () => undefined,
  }),

  /** Resolves false when neither Redis nor MySQL knows the chat. */
  seedChat: contract<{ token: string; chat: number; maxMessage: number; deleted: boolean; known: boolean }, boolean>({
    file: "seed_chat",
    keys: (k, i) => ({ chat: k.chat(i.token, i.chat), instance: k.instance(i.token) }),
    args: (i) => ({ maxMessage: i.maxMessage, deleted: i.deleted ? "1" : "0", known: i.known ? "1" : "0" }),
    reply: (value) => Number(value) === 1,
  }),

  /** null: the registry is missing or stale (re-seed it from MySQL); else endpoint id → JSON. */
  webhooksRead: contract<{ token: string }, Map<string, string> | null>({
    file: "webhooks_read",
    keys: (k, i) => ({ registry: k.webhooks(i.token), instance: k.instance(i.token) }),
    args: () => ({}),
    reply: (value) => {
      if (!Array.isArray(value)) return null;
      const out = new Map<string, string>();
      for (let i = 0; i + 1 < value.length; i += 2) if (!String(value[i]).startsWith("_")) out.set(String(value[i]), String(value[i + 1]));
      return out;
    },
  }),

  webhooksSeed: contract<{ token: string; version: number; endpoints: [string, string][] }, boolean>({
    file: "webhooks_seed",
    keys: (k, i) => ({ registry: k.webhooks(i.token), instance: k.instance(i.token) }),
    args: (i) => ({ version: i.version, endpoints: i.endpoints.flat() }),
    reply: (value) => Number(value) === 1,
  }),

  webhooksEnqueue: contract<{ shard: number; now: number; deliveries: { endpoint: string; id: string; job: string }[] }, number>({
    file: "webhooks_enqueue",
    keys: (k, i) => pick(k.webhookDeliveries(i.shard), "ready", "jobs", "queuePrefix"),
    args: (i) => ({ now: i.now, deliveries: i.deliveries.flatMap((d) => [d.endpoint, d.id, d.job]) }),
    reply: Number,
  }),

  webhooksClaim: contract<{ shard: number; now: number; leaseMs: number; max: number; perEndpoint: number; busy: [string, number][] }, { endpoint: string; id: string; job: string }[]>({
    file: "webhooks_claim",
    keys: (k, i) => pick(k.webhookDeliveries(i.shard), "ready", "jobs", "queuePrefix"),
    args: (i) => ({ now: i.now, leaseMs: i.leaseMs, max: i.max, perEndpoint: i.perEndpoint, busy: i.busy.flat() }),
    reply: (value) => {
      const raw = value as string[];
      const out: { endpoint: string; id: string; job: string }[] = [];
      for (let i = 0; i + 2 < raw.length; i += 3) out.push({ endpoint: raw[i]!, id: raw[i + 1]!, job: raw[i + 2]! });
      return out;
    },
  }),

  webhooksSettle: contract<{ shard: number; endpoint: string; id: string; outcome: "success" | "failure" | "dead_letter" | "dropped"; dueAt?: number; job?: string; counters: [string, number][] }, void>({
    file: "webhooks_settle",
    keys: (k, i) => pick(k.webhookDeliveries(i.shard), "ready", "jobs", "stats", "queuePrefix"),
    args: (i) => ({ endpoint: i.endpoint, id: i.id, outcome: i.outcome, dueAt: i.dueAt ?? 0, job: i.job ?? "", counters: i.counters.flat() }),
    reply: () => undefined,
  }),
};

/** The named keys of `from`, in the order given (a script's KEYS order). */
function pick<K extends string>(from: Record<K, string>, ...names: K[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, from[name]]));
}

type Contracts = typeof contracts;
type InputOf<C> = C extends Contract<infer I, unknown> ? I : never;
type ReplyOf<C> = C extends Contract<unknown, infer R> ? R : never;

/** The script's command name on a connection, and its KEYS then ARGV as one flat list. */
function command<I>(c: Contract<I, unknown>, keys: Keys, settings: ScriptSettings, input: I): [string, Arg[]] {
  const args: Arg[] = Object.values(c.keys(keys, input));
  for (const value of Object.values(c.args(input, settings))) Array.isArray(value) ? args.push(...value) : args.push(value);
  return [c.file, args];
}

export type Scripts = { [N in keyof Contracts]: (input: InputOf<Contracts[N]>) => Promise<ReplyOf<Contracts[N]>> } & {
  /** Queues a script call on a pipeline (same slot only); read its reply with `contracts[name].reply`. */
  queue<N extends keyof Contracts>(pipeline: ChainableCommander, name: N, input: InputOf<Contracts[N]>): ChainableCommander;
};

/** Defines every script on a connection (once per connection). */
export function defineScripts(redis: RedisClient): void {
  for (const c of Object.values(contracts)) {
    const { lua, numberOfKeys } = loadLua(c.file);
    redis.defineCommand(c.file, { lua, numberOfKeys });
  }
}

const redirected = (error: Error | null) => !!error && /^(MOVED|ASK) /.test(error.message);

/** Reloads a cluster client's slot map (after a redirect a pipeline did not follow); a no-op on one Redis. */
function refreshSlots(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Cluster)) return Promise.resolve();
  return new Promise((resolve) => redis.refreshSlotsCache(() => resolve()));
}

/** The typed script functions over a connection on which defineScripts ran. */
export function scriptsFor(redis: RedisClient, keys: Keys, settings: ScriptSettings): Scripts {
  const scripts = {
    queue(pipeline: ChainableCommander, name: keyof Contracts, input: unknown) {
      const [file, args] = command(contracts[name] as Contract<unknown, unknown>, keys, settings, input);
      return (pipeline as unknown as Record<string, (...a: Arg[]) => ChainableCommander>)[file]!(...args);
    },
  } as Scripts;
  for (const [name, c] of Object.entries(contracts) as [keyof Contracts, Contract<unknown, unknown>][]) {
    const wait = c.writes ? (settings.waitReplicas ?? 0) : 0;
    (scripts as unknown as Record<string, unknown>)[name] = async (input: unknown) => {
      const [file, args] = command(c, keys, settings, input);
      if (!wait) return c.reply(await (redis as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[file]!(...args));
      // WAIT in the same pipeline: the same node (the script's slot), still one round trip.
      const send = async () => {
        const pipeline = (redis.pipeline() as unknown as Record<string, (...a: Arg[]) => ChainableCommander>)[file]!(...args).wait(wait, settings.waitTimeoutMs ?? 50);
        return (await pipeline.exec()) as [[Error | null, unknown], [Error | null, unknown]];
      };
      let [[scriptError, reply], [waitError, confirmed]] = await send();
      // The slot moved (a failover): the script did not run there. ioredis retries a pipeline only
      // when every command was redirected, and WAIT, having no key, was answered: so it is done here.
      for (let attempt = 0; attempt < 5 && redirected(scriptError); attempt++) {
        await refreshSlots(redis);
        [[scriptError, reply], [waitError, confirmed]] = await send();
      }
      if (scriptError) throw scriptError;
      if (waitError) throw waitError;
      const parsed = c.reply(reply);
      // Only a write made (or replayed) must be on the replicas; a refusal or NEEDROW changed nothing.
      const status = (parsed as { status?: string }).status;
      if ((status === "OK" || status === "REPLAY") && Number(confirmed) < wait) throw new ReplicationTimeoutError(Number(confirmed), wait);
      return parsed;
    };
  }
  return scripts;
}
