import { afterAll, describe, expect, test } from "bun:test";
import { call, eventually } from "../support/http.ts";
import { sharedStack, startWorker } from "../support/processes.ts";
import { flushAll } from "../../core/redis/client.ts";
import { groups } from "../../core/keys.ts";
import { appId, drained, keys, pendingOf, redisClient, rows } from "../support/stack.ts";

// Unique per run: a consumer name left from an earlier run may still hold entries.
const victimName = `victim-${Date.now()}`;
const { apis, pauseWorkers, resumeWorkers } = await sharedStack();
const base = apis[0]!.url;
// A test that pauses the shared workers resumes them in its finally; this is the backstop.
afterAll(resumeWorkers);

describe("worker faults", () => {
  test("a worker SIGKILLed mid-batch, again and again, loses and doubles nothing", async () => {
    const token = (await call(base, "POST", "/applications", { name: "kill" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    // The shared workers are paused, so the victim is the only consumer while it is being killed.
    await pauseWorkers(); // once drained: between batches, never inside a transaction holding row locks
    try {
      // Everything is queued first, so each victim has batches in hand whenever it is killed.
      const posts = await Promise.all(Array.from({ length: 3000 }, (_, i) => call(base, "POST", `/applications/${token}/chats/1/messages`, { body: `survivor ${i}` })));
      expect(posts.every((r) => r.status === 201)).toBe(true);
      let kills = 0;
      for (let round = 0; round < 4; round++) {
        const victim = startWorker({ WORKER_NAME: victimName, WORKER_BATCH_SIZE: "50", WORKER_SINKS: "mysql" });
        await eventually(async () => ((await pendingOf("mysql", victimName)) > 0 ? true : undefined), 15_000, "the victim to hold a batch", 5);
        await victim.stop("SIGKILL");
        kills++;
      }
      expect(kills).toBe(4);
      expect(await pendingOf("mysql", victimName)).toBeGreaterThan(0);
    } finally {
      resumeWorkers();
    }
    // The shared workers claim what the dead victim held once it has been idle long enough.
    await drained("mysql", 60_000);
    const id = await appId(token);
    const persisted = await rows<{ n: number; distinct_bodies: number }>(
      "SELECT COUNT(*) n, COUNT(DISTINCT body) distinct_bodies FROM messages WHERE application_id = ? AND chat_number = 1",
      [id],
    );
    expect(persisted[0]).toEqual({ n: 3000, distinct_bodies: 3000 });
    await eventually(async () => ((await call(base, "GET", `/applications/${token}/chats/1`)).json.messages_count === 3000 ? true : undefined));
    const [chat] = await rows("SELECT messages_count FROM chats WHERE application_id = ? AND number = 1", [id]);
    expect(chat?.messages_count).toBe(3000);
  });

  test("a batch of maximum-size bodies, more than one MySQL packet, is persisted and indexed", async () => {
    const token = (await call(base, "POST", "/applications", { name: "big bodies" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    const deadBefore = await redisClient().xlen(keys.deadLetter);
    // 450 bodies of 10,000 four-byte characters: 18 MB, over MariaDB's 16 MiB max_allowed_packet
    // when one batch carries them all, as it does once the paused workers resume.
    const count = 450;
    const body = (i: number) => `${i} `.padEnd(8, "-") + "😀".repeat(9_992);
    await pauseWorkers();
    try {
      for (let i = 0; i < count; i += 50) {
        const posts = await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => call(base, "POST", `/applications/${token}/chats/1/messages`, { body: body(i + k) })));
        expect(posts.map((r) => r.status)).toEqual(posts.map(() => 201));
      }
    } finally {
      resumeWorkers();
    }
    await drained("mysql", 120_000);
    await drained("search", 120_000);
    const [persisted] = await rows<{ n: number; bytes: number }>("SELECT COUNT(*) n, SUM(LENGTH(body)) bytes FROM messages WHERE application_id = ? AND chat_number = 1", [await appId(token)]);
    expect([Number(persisted?.n), Number(persisted?.bytes)]).toEqual([count, count * (8 + 4 * 9_992)]);
    expect(await redisClient().xlen(keys.deadLetter)).toBe(deadBefore);
    const hits = await eventually(async () => {
      const r = await call(base, "GET", `/applications/${token}/chats/1/messages/search?q=${encodeURIComponent("449")}`);
      return r.json.data?.length ? r.json.data : undefined;
    }, 20_000, "message 449 to be searchable");
    expect(hits[0].body).toBe(body(449));
  }, 180_000);

  test("creates delivered again behind new ones, over several INSERT statements, are counted once", async () => {
    // The sink writes a batch's creates with plain INSERTs and, when one row exists already (a
    // redelivery), undoes them all and takes the locking path. Bodies of 10,000 characters put
    // about 140 rows in one statement: the repeated creates land in the batch's second statement.
    const token = (await call(base, "POST", "/applications", { name: "redelivered" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    const body = (i: number) => `${i} `.padEnd(8, "-") + "x".repeat(9_992);
    const post = (from: number, count: number) =>
      Promise.all(Array.from({ length: count }, (_, k) => call(base, "POST", `/applications/${token}/chats/1/messages`, { body: body(from + k) })));
    const stream = keys.streamOf(token);
    await pauseWorkers();
    let first: [string, string[]][];
    try {
      const latest = ((await redisClient().xrevrange(stream, "+", "-", "COUNT", 1)) as [string, string[]][])[0]?.[0] ?? "0-0";
      expect((await post(0, 150)).every((r) => r.status === 201)).toBe(true);
      first = ((await redisClient().xrange(stream, `(${latest}`, "+")) as [string, string[]][]).filter(([, fields]) => fields.some((f) => f.startsWith("message.created|") && f.includes(`|${token}|1|`)));
      expect(first.length).toBe(150);
    } finally {
      resumeWorkers();
    }
    await drained("mysql", 60_000);
    await pauseWorkers();
    try {
      expect((await post(150, 150)).every((r) => r.status === 201)).toBe(true);
      // The first 150 again, after the new ones: as a consumer that died before acknowledging would see them.
      for (const [, fields] of first) await redisClient().xadd(stream, "*", ...fields);
    } finally {
      resumeWorkers();
    }
    await drained("mysql", 60_000);
    const id = await appId(token);
    const [persisted] = await rows<{ n: number; distinct_bodies: number }>("SELECT COUNT(*) n, COUNT(DISTINCT body) distinct_bodies FROM messages WHERE application_id = ? AND chat_number = 1", [id]);
    expect({ n: Number(persisted?.n), distinct_bodies: Number(persisted?.distinct_bodies) }).toEqual({ n: 300, distinct_bodies: 300 });
    const [chat] = await rows("SELECT messages_count FROM chats WHERE application_id = ? AND number = 1", [id]);
    expect(chat?.messages_count).toBe(300);
  }, 180_000);

  test("a malformed stream entry is dead-lettered, not retried forever", async () => {
    // What the tests before queued (thousands of messages, bodies of 10,000 characters) is indexed
    // and offered to webhooks first: on a busy machine that alone took longer than the wait below.
    for (const group of Object.values(groups)) await drained(group, 120_000);
    const id = await redisClient().xadd(keys.stream(0), "*", "t", "message.created", "a", "not-a-number");
    // Every group reads the entry and each gives up on it on its own: wait until all of them have.
    const groupsThatGaveUp = await eventually(async () => {
      const entries = (await redisClient().xrevrange(keys.deadLetter, "+", "-", "COUNT", 100)) as [string, string[]][];
      const gaveUp = [...new Set(entries.filter(([, fields]) => fields.includes(id!)).map(([, fields]) => fields[fields.indexOf("group") + 1]!))].sort();
      return gaveUp.length >= Object.keys(groups).length ? gaveUp : undefined;
    }, 60_000, "the malformed entry dead-lettered by every group");
    expect(groupsThatGaveUp).toEqual(Object.values(groups).sort());
    await drained();
  }, 240_000);

  test("an evicted chat key is re-seeded from MySQL: no number is handed out twice", async () => {
    const token = (await call(base, "POST", "/applications", { name: "evict" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    for (let i = 0; i < 5; i++) await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: `m${i}` });
    await drained();
    await redisClient().del(keys.chat(token, 1), keys.app(token));
    const next = await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "after eviction" });
    expect(next.status).toBe(201);
    expect(next.json.number).toBe(6);
    await redisClient().del(keys.app(token));
    expect((await call(base, "POST", `/applications/${token}/chats`, {})).json.number).toBe(2);
  });

  test("a flushed Redis reuses no chat or message number", async () => {
    const token = (await call(base, "POST", "/applications", { name: "flush" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    await call(base, "POST", `/applications/${token}/chats`, {});
    for (let i = 0; i < 3; i++) await call(base, "POST", `/applications/${token}/chats/2/messages`, { body: `before ${i}` });
    await call(base, "DELETE", `/applications/${token}/chats/2/messages/3`);
    await drained();
    await flushAll(redisClient());
    const message = await call(base, "POST", `/applications/${token}/chats/2/messages`, { body: "after flush" });
    expect(message.status).toBe(201);
    expect(message.json.number).toBe(4);
    expect((await call(base, "POST", `/applications/${token}/chats`, {})).json.number).toBe(3);
    expect((await call(base, "GET", `/applications/${token}/chats/2/messages/3`)).status).toBe(404);
    await drained();
    const stored = await rows("SELECT number, body FROM messages WHERE application_id = ? AND chat_number = 2 AND deleted_at IS NULL ORDER BY number", [await appId(token)]);
    expect(stored.map((r) => [r.number, r.body])).toEqual([[1, "before 0"], [2, "before 1"], [4, "after flush"]]);
  });
});
