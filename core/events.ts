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
 * An event as the scripts write it (_event.lua): the one value of the entry's one field `e`. Every
 * sink reads and decodes every entry, and each field costs a string to write, replicate, read and
 * decode. `type|appId|token|chat|number|version|createdAt|updatedAt|deletedAt` (absent values empty),
 * then, when the event carries a text (a message's body, a chat's name; none for a chat named null),
 * `|` and the text as it is.
 */
export function eventEntry(e: { type: string; appId: number; token: string; chat?: number; number?: number; version?: number; createdAt?: number; updatedAt?: number; deletedAt?: number | null }, text?: string): string {
  const header = [e.type, e.appId, e.token, e.chat ?? "", e.number ?? "", e.version ?? "", e.createdAt ?? "", e.updatedAt ?? "", e.deletedAt ?? ""].join("|");
  return text === undefined ? header : `${header}|${text}`;
}

const HEADER = ["t", "a", "k", "c", "n", "v", "ts", "u", "d"] as const;
/** Positions in HEADER. */
const TYPE = 0, APP = 1, TOKEN = 2, CHAT = 3, NUMBER = 4, VERSION = 5, CREATED = 6, UPDATED = 7, DELETED = 8;

/** The header's part `i` as a whole number; an empty part is an absent value, as in the older layout. */
function integerAt(values: (string | undefined)[], i: number, id: string): number {
  const text = values[i];
  const value = Number(text);
  if (!text || !Number.isSafeInteger(value)) throw new MalformedEventError(`field ${HEADER[i]} of ${id} is not an integer`);
  return value;
}

/**
 * Parses the field list of one stream entry: the one field `e` (eventEntry), or a layout of earlier
 * versions (entries queued before an upgrade, replayed dead letters): the same header as a field `h`
 * with the text as `b` or `nm`, or a field per value. Each becomes the header's list of values
 * (undefined where absent) and the text, which pass the same checks. Throws MalformedEventError for
 * anything unexpected.
 */
export function parseEvent(stream: string, id: string, fields: string[]): StreamEvent {
  if (fields.length === 2 && fields[0] === "e") {
    const entry = fields[1]!;
    const values: string[] = [];
    let from = 0;
    for (let i = 0; i < HEADER.length - 1; i++) {
      const bar = entry.indexOf("|", from);
      if (bar < 0) throw new MalformedEventError(`entry ${id} has ${i + 1} header parts, not ${HEADER.length}`);
      values.push(entry.slice(from, bar));
      from = bar + 1;
    }
    const bar = entry.indexOf("|", from);
    values.push(bar < 0 ? entry.slice(from) : entry.slice(from, bar));
    return fromValues(stream, id, values, bar < 0 ? undefined : entry.slice(bar + 1));
  }
  let header: string | undefined;
  let text: string | undefined;
  let older: Record<string, string> | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i]!;
    const value = fields[i + 1]!;
    if (key === "h") header = value;
    else if (key === "b" || key === "nm") text = value;
    else (older ??= {})[key] = value;
  }
  let values: (string | undefined)[];
  if (header !== undefined) {
    values = header.split("|");
    if (values.length !== HEADER.length) throw new MalformedEventError(`header of ${id} has ${values.length} parts, not ${HEADER.length}`);
  } else values = HEADER.map((key) => older?.[key]);
  return fromValues(stream, id, values, text);
}

/** An event from its header's values and its text (a message's body, a chat's name: undefined when absent). */
function fromValues(stream: string, id: string, values: (string | undefined)[], text: string | undefined): StreamEvent {
  const type = values[TYPE];
  const token = values[TOKEN] ?? "";
  if (type === "application.deleted") return { type, id, stream, appId: integerAt(values, APP, id), token };
  const appId = integerAt(values, APP, id);
  const chat = integerAt(values, CHAT, id);
  const version = integerAt(values, VERSION, id);
  const createdAt = integerAt(values, CREATED, id);
  const updatedAt = integerAt(values, UPDATED, id);
  const deletedAt = values[DELETED] ? integerAt(values, DELETED, id) : null;
  switch (type) {
    case "chat.created":
    case "chat.updated":
    case "chat.deleted":
      return { type, id, stream, appId, token, chat, version, createdAt, updatedAt, deletedAt, name: text ?? null };
    case "message.created":
    case "message.updated":
    case "message.deleted":
      if (text === undefined) throw new MalformedEventError(`message event ${id} has no body`);
      return { type, id, stream, appId, token, chat, version, createdAt, updatedAt, deletedAt, number: integerAt(values, NUMBER, id), body: text };
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
