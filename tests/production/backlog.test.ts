/**
 * SPEC §6.5: with the worker stopped, 200,000 accepted messages pile up in one chat. Gets and lists
 * stay correct over the merge of persisted rows and pending writes: keyset order in both directions,
 * pending edits shown, pending deletes hidden, across the persisted/pending boundary.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeCursor } from "../../server/common/cursor.ts";
import { call } from "../support/http.ts";
import { sharedStack, type SharedStack } from "../support/processes.ts";
import { drained, keys, redisClient } from "../support/stack.ts";

const PERSISTED = 500;
const BACKLOG = 200_000;
let base: string;
let other: string;
let stack: SharedStack;
beforeAll(async () => {
  stack = await sharedStack();
  base = stack.apis[0]!.url;
  other = stack.apis[1]!.url;
});
afterAll(() => stack?.resumeWorkers());

async function redisInfo(section: string, field: string): Promise<number> {
  return Number(new RegExp(`^${field}:(\\d+)`, "m").exec(await redisClient().info(section))![1]);
}

/** Posts every body; returns the body each number was given. */
async function post(url: string, path: string, bodies: string[], concurrency = 64): Promise<Map<number, string>> {
  const byNumber = new Map<number, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await call(url, "POST", path, { body });
        if (res.status !== 201) throw new Error(`post answered ${res.status}: ${res.text}`);
        byNumber.set(res.json.number, body);
      }
    }),
  );
  return byNumber;
}

/** Every message of pages walked from `from` (a number, exclusive) in `order`, `pages` pages of `limit`. */
async function walk(url: string, path: string, order: "asc" | "desc", from: number | undefined, pages: number, limit: number) {
  const seen: { number: number; body: string }[] = [];
  let cursor = from === undefined ? undefined : encodeCursor(from);
  for (let i = 0; i < pages; i++) {
    const res = await call(url, "GET", `${path}?order=${order}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    seen.push(...res.json.data.map((m: { number: number; body: string }) => ({ number: m.number, body: m.body })));
    cursor = res.json.next_cursor;
    if (!cursor) break;
  }
  return seen;
}

describe("reads under a backlog", () => {
  test(`${BACKLOG} pending messages in one chat: get and list merge them with persisted ones correctly`, async () => {
    const token = (await call(base, "POST", "/applications", { name: "backlog" })).json.token as string;
    await call(base, "POST", `/applications/${token}/chats`, {});
    const path = `/applications/${token}/chats/1/messages`;
    await post(base, path, Array.from({ length: PERSISTED }, (_, i) => `persisted ${i + 1}`), 1);
    await stack.pauseWorkers();
    try {
      // Pending edits and deletes of persisted messages, then the backlog, then edits and deletes in it.
      expect((await call(base, "DELETE", `${path}/10`)).status).toBe(204);
      expect((await call(base, "DELETE", `${path}/300`)).status).toBe(204);
      expect((await call(base, "PATCH", `${path}/20`, { body: "persisted 20, edited" })).status).toBe(200);
      const memoryBefore = await redisInfo("memory", "used_memory");
      const pending = await post(base, path, Array.from({ length: BACKLOG }, (_, i) => `pending ${i}`));
      const last = PERSISTED + BACKLOG;
      expect(await redisClient().zcard(keys.pending(token, 1))).toBe(BACKLOG + 3);
      // Redis memory per pending message (stream entry + overlay entry) within 2× its body + 300 bytes.
      const perMessage = ((await redisInfo("memory", "used_memory")) - memoryBefore) / BACKLOG;
      const body = Buffer.byteLength("pending 100000");
      console.log(`Redis bytes per pending message: ${perMessage.toFixed(0)} (body ${body} bytes, limit ${2 * body + 300})`);
      expect(perMessage).toBeLessThanOrEqual(2 * body + 300);
      // A read costs the same whatever the backlog: what Redis sends for one page or one message is
      // about that page, not the chat's 200,000 pending writes.
      for (const read of [`${path}?limit=25&order=desc`, `${path}?limit=25`, `${path}/150002`]) {
        const sentBefore = await redisInfo("stats", "total_net_output_bytes");
        expect((await call(other, "GET", read)).status).toBe(200);
        expect({ read, bytes: (await redisInfo("stats", "total_net_output_bytes")) - sentBefore < 100_000 }).toEqual({ read, bytes: true });
      }
      for (const n of [1000, 150_000, last]) expect((await call(base, "DELETE", `${path}/${n}`)).status).toBe(204);
      expect((await call(base, "PUT", `${path}/150001`, { body: "pending 150001, edited" })).status).toBe(200);

      const deleted = new Set([10, 300, 1000, 150_000, last]);
      const expected = (n: number) => (n === 20 ? "persisted 20, edited" : n === 150_001 ? "pending 150001, edited" : n <= PERSISTED ? `persisted ${n}` : pending.get(n)!);
      const live = (ns: number[]) => ns.filter((n) => !deleted.has(n)).map((n) => ({ number: n, body: expected(n) }));
      const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

      for (const url of [base, other]) {
        for (const n of [1, 20, 499, 500, 501, 999, 1001, 150_001, 150_002, last - 1]) {
          const res = await call(url, "GET", `${path}/${n}`);
          expect({ n, status: res.status, body: res.json?.body }).toEqual({ n, status: 200, body: expected(n) });
        }
        for (const n of deleted) expect({ n, status: (await call(url, "GET", `${path}/${n}`)).status }).toEqual({ n, status: 404 });
        expect((await call(url, "GET", `${path}/${last + 1}`)).status).toBe(404);

        // From the start, across the persisted/pending boundary, around pending deletes, and from the end.
        expect(await walk(url, path, "asc", undefined, 2, 25)).toEqual(live(range(1, 51)));
        expect(await walk(url, path, "asc", 280, 5, 100)).toEqual(live(range(281, 783)).slice(0, 500));
        expect(await walk(url, path, "asc", 149_950, 2, 50)).toEqual(live(range(149_951, 150_051)).slice(0, 100));
        expect(await walk(url, path, "desc", undefined, 2, 25)).toEqual(live(range(last - 50, last).reverse()).slice(0, 50));
        expect(await walk(url, path, "desc", 150_010, 1, 20)).toEqual(live(range(149_989, 150_009).reverse()).slice(0, 20));
        expect(await walk(url, path, "desc", 520, 2, 30)).toEqual(live(range(458, 519).reverse()).slice(0, 60));
      }
    } finally {
      stack.resumeWorkers();
    }
    await drained("mysql", 120_000);
    // Persisted, the same reads give the same answers, and the overlay is empty.
    expect(await redisClient().zcard(keys.pending(token, 1))).toBe(0);
    expect((await call(base, "GET", `${path}/150001`)).json.body).toBe("pending 150001, edited");
    expect((await call(base, "GET", `${path}/150000`)).status).toBe(404);
  });
});
