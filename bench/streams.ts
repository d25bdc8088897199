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
 * What `group` still has to do on every stream shard: entries unread (lag, or the stream's length when
 * Redis cannot tell) plus read but unacknowledged; done once it has read up to each stream's last id
 * and holds nothing pending.
 */
export async function streamState(redis: Redis | Cluster, group: string, keys: Keys = keysFor(4)) {
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
    remaining += Number(row.pending) + (row.lag === null || row.lag === undefined ? length : Number(row.lag));
    done &&= Number(row.pending) === 0 && String(row["last-delivered-id"]) === last;
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
