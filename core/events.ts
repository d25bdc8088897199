/**
 * The events on the Redis streams, written by the Lua scripts (flat field lists) and by the
 * application service, read by the worker's sinks. Every event carries the entity's full state and a
 * version, so a sink may apply events in any order, any number of times, with the same result.
 */

export type ChatEventType = "chat.created" | "chat.updated" | "chat.deleted";
export type MessageEventType = "message.created" | "message.updated" | "message.deleted";

type Base = {
  /** Stream entry id, e.g. "1732480000000-0". */
  id: string;
  stream: string;
  appId: number;
  token: string;
  chat: number;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** Set on deletes: when the tombstone was written. */
  deletedAt: number | null;
};

export type ChatEvent = Base & { type: ChatEventType; name: string | null };
export type MessageEvent = Base & { type: MessageEventType; number: number; body: string };
export type ApplicationDeletedEvent = { type: "application.deleted"; id: string; stream: string; appId: number; token: string };
export type ChatEventOrMessage = ChatEvent | MessageEvent;
export type StreamEvent = ChatEvent | MessageEvent | ApplicationDeletedEvent;

export class MalformedEventError extends Error {
  override name = "MalformedEventError";
}

/**
 * The header field of an event as the scripts write it (_event.lua): one string instead of a field
 * per value, since every sink reads and decodes every entry. The text follows as `b` or `nm`.
 */
export function eventHeader(e: { type: string; appId: number; token: string; chat?: number; number?: number; version?: number; createdAt?: number; updatedAt?: number; deletedAt?: number | null }): string {
  return [e.type, e.appId, e.token, e.chat ?? "", e.number ?? "", e.version ?? "", e.createdAt ?? "", e.updatedAt ?? "", e.deletedAt ?? ""].join("|");
}

const HEADER = ["t", "a", "k", "c", "n", "v", "ts", "u", "d"] as const;

/**
 * Parses the field list of one stream entry: the header `h` with `b` or `nm`, or the field-per-value
 * layout of earlier versions (entries queued before an upgrade, replayed dead letters). Throws
 * MalformedEventError for anything unexpected.
 */
export function parseEvent(stream: string, id: string, fields: string[]): StreamEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  if (f.h !== undefined) {
    const parts = f.h.split("|");
    if (parts.length !== HEADER.length) throw new MalformedEventError(`header of ${id} has ${parts.length} parts, not ${HEADER.length}`);
    // An empty part is an absent value, as in the older layout.
    HEADER.forEach((name, i) => (parts[i] === "" ? undefined : (f[name] = parts[i]!)));
  }
  const type = f.t;
  const num = (key: string): number => {
    const value = Number(f[key]);
    if (f[key] === undefined || !Number.isSafeInteger(value)) throw new MalformedEventError(`field ${key} of ${id} is not an integer`);
    return value;
  };
  if (type === "application.deleted") return { type, id, stream, appId: num("a"), token: f.k ?? "" };
  const base = {
    id,
    stream,
    appId: num("a"),
    token: f.k ?? "",
    chat: num("c"),
    version: num("v"),
    createdAt: num("ts"),
    updatedAt: num("u"),
    deletedAt: f.d === undefined ? null : num("d"),
  };
  switch (type) {
    case "chat.created":
    case "chat.updated":
    case "chat.deleted":
      return { ...base, type, name: f.nm ?? null };
    case "message.created":
    case "message.updated":
    case "message.deleted":
      if (f.b === undefined) throw new MalformedEventError(`message event ${id} has no body`);
      return { ...base, type, number: num("n"), body: f.b };
    default:
      throw new MalformedEventError(`unknown event type ${JSON.stringify(type)} in ${id}`);
  }
}

/** The later of two states of one row: higher version wins, and a tombstone is never lifted. */
export function newerState<T extends { version: number; deletedAt: number | null }>(a: T, b: T): T {
  if (a.deletedAt !== null && b.deletedAt === null) return a;
  if (b.deletedAt !== null && a.deletedAt === null) return b;
  return b.version > a.version ? b : a;
}

/** Orders two stream entry ids ("<ms>-<seq>"); -1, 0 or 1. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split("-").map(BigInt) as [bigint, bigint];
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}
