/**
 * SPEC §5.6: /metrics reads the stream state of every shard (lag and pending per group) and the
 * dead letters as Redis holds them. On a Redis Cluster the shards live on different masters: a line
 * missing or stuck at 0 would hide a backlog.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { groups } from "../../core/keys.ts";
import { call } from "../support/http.ts";
import { sharedStack, type SharedStack } from "../support/processes.ts";
import { drained, keys, redisClient } from "../support/stack.ts";

let stack: SharedStack;
let base: string;
beforeAll(async () => {
  stack = await sharedStack();
  base = stack.apis[1]!.url;
});
afterAll(() => stack?.resumeWorkers());

/** Every sample of the scrape: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

const series = (name: string, stream: string, group: string) => `${name}{stream="${stream}",group="${group}"}`;
const both = [groups.mysql, groups.search];

/** Lag and pending of both groups on every shard. */
function streamState(samples: Map<string, number>) {
  return keys.streams().flatMap((stream) => both.map((group) => ({ stream, group, lag: samples.get(series("chat_stream_lag", stream, group)), pending: samples.get(series("chat_stream_pending", stream, group)) })));
}

test("lag and pending of both groups on every stream shard, and the dead letters, as Redis holds them", async () => {
  const token = (await call(base, "POST", "/applications", { name: "metrics" })).json.token as string;
  await stack.pauseWorkers(groups.mysql, groups.search);
  const dead: string[] = [];
  try {
    // With the workers paused, a write waits on its shard's stream, unacknowledged by both groups.
    expect((await call(base, "POST", `/applications/${token}/chats`, {})).status).toBe(201);
    for (let i = 0; i < 2; i++) dead.push((await redisClient().xadd(keys.deadLetter, "*", "stream", keys.streamOf(token), "entry", `0-${i + 1}`, "group", "mysql", "reason", "metrics test", "fields", "[]"))!);
    const samples = await scrape();
    expect(streamState(samples).filter((s) => !Number.isInteger(s.lag) || !Number.isInteger(s.pending))).toEqual([]);
    // Unread (lag), or taken by a read the worker had blocked in Redis before it was paused (pending).
    const stream = keys.streamOf(token);
    const waiting = both.map((group) => ({ group, entries: (samples.get(series("chat_stream_lag", stream, group)) ?? 0) + (samples.get(series("chat_stream_pending", stream, group)) ?? 0) }));
    expect(waiting.filter((w) => w.entries < 1)).toEqual([]);
    expect(samples.get("chat_dead_letters")).toBe(await redisClient().xlen(keys.deadLetter));
    expect(samples.get("chat_dead_letters")).toBeGreaterThanOrEqual(2);
  } finally {
    stack.resumeWorkers();
    if (dead.length) await redisClient().xdel(keys.deadLetter, ...dead);
  }
  await drained(groups.mysql);
  await drained(groups.search);
  const settled = streamState(await scrape());
  expect(settled).toEqual(settled.map((s) => ({ ...s, lag: 0, pending: 0 })));
});
