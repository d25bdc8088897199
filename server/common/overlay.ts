/**
 * The pending overlay: writes accepted but not yet persisted by the MySQL sink, merged over MySQL by
 * every read (read-your-writes). One sorted set per chat (messages) or application (chats), scored
 * by number, member "version|<flag><text>" for an untouched create (created and updated at the
 * version's millisecond), else "version|created_ms|updated_ms|<flag><text>"; flag "+" (text follows),
 * "~" (null text) or "x" (deleted) — the format core/redis/scripts/_overlay.lua writes. A read touches only the
 * entries of its page's window, so it costs the same with 0 or 1,000,000 pending writes (SPEC §6.5).
 */
import type { ChainableCommander } from "ioredis";
import { execAll, type RedisClient } from "../../core/redis/client.ts";
import { encodeCursor } from "./cursor.ts";

export type OverlayEntry = {
  number: number;
  version: number;
  created_at: number;
  updated_at: number;
  deleted: boolean;
  text: string | null;
};

const ENTRY = /^(\d+)\|(?:(\d+)\|(\d+)\|)?([+~x])/;

export function parseEntry(member: string, score: string | number): OverlayEntry {
  const match = ENTRY.exec(member);
  if (!match) throw new Error("malformed overlay entry");
  const version = Number(match[1]);
  const created = match[2] === undefined ? Math.floor(version / 1000) : Number(match[2]);
  const flag = match[4];
  return {
    number: Number(score),
    version,
    created_at: created,
    updated_at: match[3] === undefined ? created : Number(match[3]),
    deleted: flag === "x",
    text: flag === "+" ? member.slice(match[0].length) : null,
  };
}

/** Parses a ZRANGE … WITHSCORES reply. */
export function parseEntries(reply: string[]): OverlayEntry[] {
  const out: OverlayEntry[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push(parseEntry(reply[i]!, reply[i + 1]!));
  return out;
}

/** Queues the read of one entry by number. */
export function readEntry(pipeline: ChainableCommander, key: string, n: number): ChainableCommander {
  return pipeline.zrange(key, String(n), String(n), "BYSCORE", "WITHSCORES");
}

/** Queues the read of the first `count` entries after `after` (exclusive) in `order`. */
export function readWindow(pipeline: ChainableCommander, key: string, order: "asc" | "desc", after: number | undefined, count: number): ChainableCommander {
  if (order === "asc") return pipeline.zrange(key, after === undefined ? "-inf" : `(${after}`, "+inf", "BYSCORE", "LIMIT", 0, count, "WITHSCORES");
  return pipeline.zrange(key, after === undefined ? "+inf" : `(${after}`, "-inf", "BYSCORE", "REV", "LIMIT", 0, count, "WITHSCORES");
}

export type PageSources<T> = {
  limit: number;
  order: "asc" | "desc";
  after?: number;
  /** The first overlay window after `after`, of `limit + 1` entries (read with the existence check). */
  window: OverlayEntry[];
  /** The next overlay window after `from`, of `count` entries. */
  readOverlay(from: number, count: number): Promise<OverlayEntry[]>;
  /** Live persisted rows after `after`, up to and including `bound` when given, in order, at most `count`. */
  readRows(after: number | undefined, bound: number | undefined, count: number): Promise<T[]>;
  /** The item an overlay entry stands for; `row` is the persisted row of the same number, if read. */
  fromEntry(entry: OverlayEntry, row: T | undefined): T;
};

/**
 * One keyset page of persisted rows merged with the overlay (the overlay is newer: it wins, and
 * its deletes hide rows). Reads one overlay window of limit + 1 entries and the rows up to that
 * window's end; only a window made mostly of deletes needs another round.
 */
export async function mergedPage<T extends { number: number }>(s: PageSources<T>): Promise<{ items: T[]; more: boolean }> {
  const want = s.limit + 1;
  const before = (a: number, b: number) => (s.order === "asc" ? a < b : a > b);
  const items: T[] = [];
  let after = s.after;
  let window = s.window;
  for (;;) {
    const windowFull = window.length >= want;
    const bound = windowFull ? window[window.length - 1]!.number : undefined;
    const deletes = window.reduce((n, e) => n + (e.deleted ? 1 : 0), 0);
    const count = want - items.length + deletes;
    const rows = await s.readRows(after, bound, count);
    const rowsFull = rows.length >= count;
    // No pending entry in the window (the usual page once the worker caught up): the rows are the page.
    let merged = rows;
    if (window.length) {
      // With the rows cut short, the merge is complete only up to the last row read.
      const complete = rowsFull ? rows[rows.length - 1]!.number : bound;
      const byNumber = new Map<number, T | null>();
      for (const row of rows) byNumber.set(row.number, row);
      for (const entry of window) {
        if (complete !== undefined && before(complete, entry.number)) continue;
        byNumber.set(entry.number, entry.deleted ? null : s.fromEntry(entry, byNumber.get(entry.number) ?? undefined));
      }
      merged = [...byNumber.entries()]
        .filter((e): e is [number, T] => e[1] !== null)
        .sort((a, b) => (s.order === "asc" ? a[0] - b[0] : b[0] - a[0]))
        .map(([, item]) => item);
    }
    items.push(...merged);
    if (items.length >= want || rowsFull || !windowFull) break;
    after = bound;
    window = await s.readOverlay(bound!, want);
  }
  return { items: items.slice(0, s.limit), more: items.length > s.limit };
}

/**
 * A list page over the overlay `key` and the persisted rows: the first window was read with the
 * existence check (`window`, a ZRANGE reply); further windows are read here. Returns the page and
 * the opaque cursor of the next one.
 */
export async function overlayPage<T extends { number: number }>(
  redis: RedisClient,
  key: string,
  page: Omit<PageSources<T>, "window" | "readOverlay"> & { window: string[] },
): Promise<{ items: T[]; next_cursor: string | null }> {
  const readOverlay = async (from: number, count: number) => parseEntries((await execAll(readWindow(redis.pipeline(), key, page.order, from, count)))[0] as string[]);
  const { items, more } = await mergedPage<T>({ ...page, window: parseEntries(page.window), readOverlay });
  const last = items[items.length - 1];
  return { items, next_cursor: more && last ? encodeCursor(last.number) : null };
}
