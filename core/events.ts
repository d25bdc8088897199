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
const TYPES = ["message.created", "message.updated", "message.deleted", "chat.created", "chat.updated", "chat.deleted", "application.deleted"] as const;
type EventType = (typeof TYPES)[number];

const ABSENT = -1;
const MALFORMED = -2;
/**
 * The header's whole numbers of the entry being parsed, by position (ABSENT for an empty part,
 * MALFORMED for one that is not a whole number), reused from entry to entry: parsing is synchronous,
 * and a worker parses every entry, so the parts become numbers without a string or an array each.
 */
const numbers = new Float64Array(HEADER.length);

/** One of the event types, as the constant (no new string), or undefined. */
function knownType(text: string, length: number): EventType | undefined {
  for (let i = 0; i < TYPES.length; i++) if (TYPES[i]!.length === length && text.startsWith(TYPES[i]!)) return TYPES[i];
  return undefined;
}

/** The last token read: a backlog's entries come many to an application, and each would be a new string. */
let lastToken = "";

/**
 * Parses the field list of one stream entry: the one field `e` (eventEntry), or a layout of earlier
 * versions (entries queued before an upgrade, replayed dead letters): the same header as a field `h`
 * with the text as `b` or `nm`, or a field per value. Each passes the same checks (fromHeader).
 * Throws MalformedEventError for anything unexpected.
 */
export function parseEvent(stream: string, id: string, fields: string[]): StreamEvent {
  if (fields.length === 2 && fields[0] === "e") return parseEntry(stream, id, fields[1]!);
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
  for (let i = APP; i < HEADER.length; i++) {
    const part = values[i];
    numbers[i] = !part ? ABSENT : Number.isSafeInteger(Number(part)) ? Number(part) : MALFORMED;
  }
  const type = values[TYPE] ?? "";
  return fromHeader(stream, id, knownType(type, type.length), values[TOKEN] ?? "", text, type, type.length);
}

const tooFew = (id: string) => new MalformedEventError(`entry ${id} has fewer than ${HEADER.length} header parts`);

/** The one-field layout, read in place: the numbers digit by digit, the type as its constant, the token reused while it repeats. */
function parseEntry(stream: string, id: string, entry: string): StreamEvent {
  const typeEnd = entry.indexOf("|");
  if (typeEnd < 0) throw tooFew(id);
  let at = typeEnd + 1;
  let token = "";
  let text: string | undefined;
  for (let i = APP; i < HEADER.length; i++) {
    if (at > entry.length) throw tooFew(id);
    if (i === TOKEN) {
      const end = entry.indexOf("|", at);
      if (end < 0) throw tooFew(id);
      token = end - at === lastToken.length && entry.startsWith(lastToken, at) ? lastToken : (lastToken = entry.slice(at, end));
      at = end + 1;
      continue;
    }
    let value = 0;
    let digits = 0;
    let bad = false;
    for (; at < entry.length; at++) {
      const digit = entry.charCodeAt(at) - 48;
      if (digit === 124 - 48) break;
      if (digit < 0 || digit > 9) bad = true;
      value = value * 10 + digit;
      digits++;
    }
    numbers[i] = bad || !Number.isSafeInteger(value) ? MALFORMED : digits ? value : ABSENT;
    // The last part ends the string, or a "|" after which the text follows.
    if (i === DELETED && at < entry.length) text = entry.slice(at + 1);
    at++;
  }
  return fromHeader(stream, id, knownType(entry, typeEnd), token, text, entry, typeEnd);
}

/** The number at position `i` of the header just read. */
function integerAt(i: number, id: string): number {
  const value = numbers[i]!;
  if (value < 0) throw new MalformedEventError(`field ${HEADER[i]} of ${id} is not an integer`);
  return value;
}

/**
 * An event from the header just read (numbers), its type, token and text (a message's body, a chat's
 * name: undefined when absent). The type as written is `raw` up to `rawEnd`, for the error message.
 */
function fromHeader(stream: string, id: string, type: EventType | undefined, token: string, text: string | undefined, raw: string, rawEnd: number): StreamEvent {
  if (type === "application.deleted") return { type, id, stream, appId: integerAt(APP, id), token };
  const appId = integerAt(APP, id);
  const chat = integerAt(CHAT, id);
  const version = integerAt(VERSION, id);
  const createdAt = integerAt(CREATED, id);
  const updatedAt = integerAt(UPDATED, id);
  const deletedAt = numbers[DELETED] === ABSENT ? null : integerAt(DELETED, id);
  switch (type) {
    case "chat.created":
    case "chat.updated":
    case "chat.deleted":
      return { type, id, stream, appId, token, chat, version, createdAt, updatedAt, deletedAt, name: text ?? null };
    case "message.created":
    case "message.updated":
    case "message.deleted":
      if (text === undefined) throw new MalformedEventError(`message event ${id} has no body`);
      return { type, id, stream, appId, token, chat, version, createdAt, updatedAt, deletedAt, number: integerAt(NUMBER, id), body: text };
    default:
      throw new MalformedEventError(`unknown event type ${JSON.stringify(raw.slice(0, rawEnd))} in ${id}`);
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
