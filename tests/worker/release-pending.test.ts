/**
 * The MySQL sink's overlay release (release_pending.lua) against the real Redis: after a batch is
 * persisted, exactly the overlay entries persisted at their version (or an older one) leave; an entry
 * rewritten since (a newer version) stays readable until it is persisted too. Both of the script's
 * ways: consecutive numbers (one range read) and scattered ones (one lookup each).
 */
import { expect, test } from "bun:test";
import { scriptSettings, scriptsFor } from "../../core/redis/scripts.ts";
import { config, keys, redisClient } from "../support/stack.ts";

const redis = redisClient();
const scripts = scriptsFor(redis, keys, scriptSettings(config));
const token = () => `release${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 32);

/** An overlay of `numbers`, each entry at version 100 + number ("version|+text", see _overlay.lua). */
async function overlay(tok: string, numbers: number[]) {
  const key = keys.pending(tok, 1);
  for (const n of numbers) await redis.zadd(key, n, `${100 + n}|+body ${n}`);
  return key;
}
const left = async (key: string) => (await redis.zrange(key, "0", "-1", "WITHSCORES")).filter((_, i) => i % 2 === 1).map(Number);

test("consecutive numbers: entries persisted at their version leave, newer ones stay, runs split around them", async () => {
  const tok = token();
  const key = await overlay(tok, [1, 2, 3, 4, 5, 6, 7, 8]);
  // 3 and 6 were rewritten after the persisted version (their entry is newer); 8 is not in the batch.
  const persisted = [1, 2, 3, 4, 5, 6, 7].map((n) => ({ number: n, version: n === 3 || n === 6 ? 100 + n - 1 : 100 + n }));
  expect(await scripts.releasePending({ token: tok, chat: 1, persisted })).toBe(5);
  expect(await left(key)).toEqual([3, 6, 8]);
  // A later version of 3 and 6 persisted: they leave too. Persisting again changes nothing.
  expect(await scripts.releasePending({ token: tok, chat: 1, persisted: [{ number: 3, version: 103 }, { number: 6, version: 200 }] })).toBe(2);
  expect(await scripts.releasePending({ token: tok, chat: 1, persisted })).toBe(0);
  expect(await left(key)).toEqual([8]);
});

test("a long consecutive batch is read a window at a time: runs across and around window edges", async () => {
  const tok = token();
  const all = Array.from({ length: 1000 }, (_, i) => i + 1);
  const key = await overlay(tok, all);
  // Rewritten since their persisted version: entries at and beside the script's 256-entry windows.
  const newer = new Set([1, 256, 257, 512, 513, 999]);
  const persisted = all.map((n) => ({ number: n, version: newer.has(n) ? 100 + n - 1 : 100 + n }));
  expect(await scripts.releasePending({ token: tok, chat: 1, persisted })).toBe(1000 - newer.size);
  expect(await left(key)).toEqual([...newer]);
});

test("scattered numbers across a long overlay: each is looked up, nothing else is touched", async () => {
  const tok = token();
  const all = Array.from({ length: 300 }, (_, i) => i + 1);
  const key = await overlay(tok, all);
  const persisted = [{ number: 2, version: 102 }, { number: 150, version: 149 }, { number: 299, version: 500 }, { number: 1000, version: 1 }];
  expect(await scripts.releasePending({ token: tok, chat: 1, persisted })).toBe(2);
  expect(await left(key)).toEqual(all.filter((n) => n !== 2 && n !== 299));
});

test("versions as the clock writes them (sixteen digits), numbers and versions in any order", async () => {
  const tok = token();
  const key = keys.pending(tok, 1);
  const clock = 1_795_713_979_726_933;
  for (const n of [1, 2, 3, 4, 5]) await redis.zadd(key, n, `${clock + n * 7}|+body ${n}`);
  // 4 persisted at an older version than its entry's; the pairs go down as well as up.
  const persisted = [5, 1, 4, 2].map((n) => ({ number: n, version: clock + n * 7 - (n === 4 ? 1 : 0) }));
  expect(await scripts.releasePending({ token: tok, chat: 1, persisted })).toBe(3);
  expect(await left(key)).toEqual([3, 4]);
});

test("an application's overlay of chats (no chat number), and an empty batch", async () => {
  const tok = token();
  const key = keys.pendingChats(tok);
  await redis.zadd(key, 1, "101|~", 2, "102|+second");
  expect(await scripts.releasePending({ token: tok, persisted: [] })).toBe(0);
  expect(await scripts.releasePending({ token: tok, persisted: [{ number: 1, version: 101 }, { number: 2, version: 102 }] })).toBe(2);
  expect(await redis.exists(key)).toBe(0);
});
