/**
 * How far the consumer groups are on the stream shards, for the benches (run.ts's drains, cluster.ts,
 * growth.ts): entries still to read or acknowledge, and waiting until a group has done everything.
 * No side effects on import: the growth bench uses it without the main bench's harness.
 */
import type { Cluster } from "ioredis";
import type Redis from "ioredis";
import { keysFor, type Keys } from "../core/keys.ts";

const record = (row: unknown[]) => Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [String(row[2 * i]), row[2 * i + 1]]));

/**
 * Entries of `stream` after `id`, counted by reading them 10,000 at a time: what a group has not
 * read yet, exactly.
 */
async function countAfter(redis: Redis | Cluster, stream: string, id: string): Promise<number> {
  let count = 0;
  let from = `(${id}`;
  for (;;) {
    const page = (await redis.xrange(stream, from, "+", "COUNT", 10_000)) as [string, unknown][];
    count += page.length;
    if (page.length < 10_000) return count;
    from = `(${page[page.length - 1]![0]}`;
  }
}

/**
 * What `group` still has to do on every stream shard: entries unread plus read but unacknowledged;
 * done once it has read up to each stream's last id and holds nothing pending. Redis' `lag` can
 * overstate what is unread (on the local cluster, after interrupted runs, it stayed 10,000 and
 * 100,000 too high on groups that had read everything), so a group that has read up to the last id
 * has nothing unread, and with `exact` the unread entries are counted (a drain's number of events;
 * too costly for polling).
 */
export async function streamState(redis: Redis | Cluster, group: string, keys: Keys = keysFor(4), exact = false) {
  let remaining = 0;
  let done = true;
  for (const stream of keys.streams()) {
    const row = ((await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][]).map(record).find((r) => r.name === group);
    const info = record((await redis.xinfo("STREAM", stream).catch(() => [])) as unknown[]);
    const last = String(info["last-generated-id"] ?? "0-0");
    const length = Number(info.length ?? 0);
    if (!row) {
      remaining += length;
      done &&= last === "0-0";
      continue;
    }
    const delivered = String(row["last-delivered-id"]);
    const unread = delivered === last ? 0 : exact ? await countAfter(redis, stream, delivered) : row.lag === null || row.lag === undefined ? length : Number(row.lag);
    remaining += Number(row.pending) + unread;
    done &&= Number(row.pending) === 0 && delivered === last;
  }
  return { remaining, done };
}

/**
 * Waits until every group in `groups` is done; throws when nothing has moved for `stallMs`. With
 * `progress`, says what is left every 10 s.
 */
export async function waitDrained(redis: Redis | Cluster, groups: string[], o: { keys?: Keys; stallMs?: number; progress?: (msg: string) => void } = {}) {
  const stallMs = o.stallMs ?? 60_000;
  let last = -1;
  let moved = Date.now();
  let said = Date.now();
  for (;;) {
    const states = await Promise.all(groups.map((g) => streamState(redis, g, o.keys)));
    if (states.every((s) => s.done)) return;
    const remaining = states.reduce((total, s) => total + s.remaining, 0);
    const left = groups.map((g, i) => `${g} ${states[i]!.remaining.toLocaleString("en-US")}`).join(", ");
    if (remaining !== last) (last = remaining), (moved = Date.now());
    if (Date.now() - moved > stallMs) throw new Error(`draining stalled: nothing moved for ${stallMs / 1000} s (left: ${left}); is the worker failing? (see its log above)`);
    if (o.progress && Date.now() - said > 10_000) (said = Date.now()), o.progress(`  draining: ${left} left`);
    await Bun.sleep(50);
  }
}

/**
 * Entries `group` has acknowledged on `streams` since it was created (entries-read minus pending,
 * summed; a missing stream or group, or one that has read nothing, counts 0). Undefined when Redis
 * does not know the entries-read of a group that has read (one created at an arbitrary id).
 */
export async function acknowledged(redis: Redis | Cluster, streams: string[], group: string): Promise<number | undefined> {
  let total = 0;
  for (const stream of streams) {
    const row = ((await redis.xinfo("GROUPS", stream).catch(() => [])) as unknown[][]).map(record).find((r) => r.name === group);
    if (!row) continue;
    // Null on a group that has read nothing yet, or whose counter Redis lost track of.
    if (row["entries-read"] === null || row["entries-read"] === undefined) {
      if (String(row["last-delivered-id"]) === "0-0") continue;
      return undefined;
    }
    total += Number(row["entries-read"]) - Number(row.pending);
  }
  return total;
}

/** Waits until `group` has acknowledged at least `count` entries on `streams`; returns how many it has. */
export async function untilAcknowledged(redis: Redis | Cluster, streams: string[], group: string, count: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = (await acknowledged(redis, streams, group)) ?? 0;
    if (done >= count) return done;
    if (Date.now() > deadline) throw new Error(`group ${group} acknowledged ${done} entries, not ${count}, within ${timeoutMs / 1000} s`);
    await Bun.sleep(5);
  }
}
