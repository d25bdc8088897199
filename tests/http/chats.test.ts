import { describe, expect, test } from "bun:test";
import { call, errorCode, eventually } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { appId, drained, rows } from "../support/stack.ts";

// Two API processes and a worker, shared by the test files of one run.
const [base, other] = (await sharedStack()).apis.map((api) => api.url) as [string, string];

const newApp = async () => (await call(base, "POST", "/applications", { name: "chats" })).json.token as string;

describe("chats", () => {
  test("numbers start at 1 per application; name optional; Location set", async () => {
    const token = await newApp();
    const first = await call(base, "POST", `/applications/${token}/chats`, { name: "general" });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ number: 1, name: "general", messages_count: 0 });
    expect(first.headers.get("location")).toBe(`/api/v1/applications/${token}/chats/1`);
    const second = await call(other, "POST", `/applications/${token}/chats`);
    expect(second.status).toBe(201);
    expect(second.json).toMatchObject({ number: 2, name: null });
    const third = await call(base, "POST", `/applications/${token}/chats`, new URLSearchParams({ name: "form" }));
    expect(third.json.number).toBe(3);
    expect(Object.keys(first.json).sort()).toEqual(["created_at", "messages_count", "name", "number", "updated_at"]);
    const otherApp = await newApp();
    expect((await call(base, "POST", `/applications/${otherApp}/chats`, {})).json.number).toBe(1);
  });

  test("readable on every API process right after create, and after the worker persisted it", async () => {
    const token = await newApp();
    const { json: chat } = await call(base, "POST", `/applications/${token}/chats`, { name: "ryw" });
    for (const url of [base, other]) {
      expect((await call(url, "GET", `/applications/${token}/chats/1`)).json).toEqual(chat);
      expect((await call(url, "GET", `/applications/${token}/chats`)).json.data).toEqual([chat]);
    }
    await drained();
    const [row] = await rows("SELECT name, version > 0 AS real_row FROM chats WHERE application_id = ? AND number = 1", [await appId(token)]);
    expect(row).toMatchObject({ name: "ryw", real_row: 1 });
    expect((await call(base, "GET", `/applications/${token}/chats/1`)).json).toEqual(chat);
  });

  test("PATCH and PUT rename (null clears), DELETE removes; numbers are never reused", async () => {
    const token = await newApp();
    await call(base, "POST", `/applications/${token}/chats`, { name: "a" });
    await call(base, "POST", `/applications/${token}/chats`, { name: "b" });
    const patched = await call(other, "PATCH", `/applications/${token}/chats/1`, { name: "renamed" });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ number: 1, name: "renamed" });
    expect((await call(base, "GET", `/applications/${token}/chats/1`)).json.name).toBe("renamed");
    expect((await call(base, "PUT", `/applications/${token}/chats/1`, { name: null })).json.name).toBeNull();
    await drained();
    expect((await call(base, "PATCH", `/applications/${token}/chats/1`, { name: "after persist" })).json.name).toBe("after persist");
    expect((await call(base, "GET", `/applications/${token}/chats/1`)).json.name).toBe("after persist");

    expect((await call(base, "DELETE", `/applications/${token}/chats/2`)).status).toBe(204);
    expect((await call(base, "GET", `/applications/${token}/chats/2`)).status).toBe(404);
    expect((await call(base, "DELETE", `/applications/${token}/chats/2`)).status).toBe(404);
    expect((await call(base, "POST", `/applications/${token}/chats/2/messages`, { body: "x" })).status).toBe(404);
    expect((await call(base, "POST", `/applications/${token}/chats`, {})).json.number).toBe(3);
    expect((await call(base, "GET", `/applications/${token}/chats`)).json.data.map((c: { number: number }) => c.number)).toEqual([1, 3]);
    await drained();
    expect((await call(base, "GET", `/applications/${token}/chats/2`)).status).toBe(404);
    expect((await call(base, "GET", `/applications/${token}/chats`)).json.data.map((c: { number: number }) => c.number)).toEqual([1, 3]);
  });

  test("keyset pagination in both orders, over pending and persisted chats", async () => {
    const token = await newApp();
    for (let i = 0; i < 12; i++) await call(base, "POST", `/applications/${token}/chats`, { name: `c${i}` });
    await drained();
    for (let i = 12; i < 23; i++) await call(base, "POST", `/applications/${token}/chats`, { name: `c${i}` });
    for (const order of ["asc", "desc"] as const) {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const res: Awaited<ReturnType<typeof call>> = await call(base, "GET", `/applications/${token}/chats?limit=5&order=${order}${cursor ? `&cursor=${cursor}` : ""}`);
        expect(res.status).toBe(200);
        expect(res.json.data.length).toBeLessThanOrEqual(5);
        seen.push(...res.json.data.map((c: { number: number }) => c.number));
        cursor = res.json.next_cursor;
      } while (cursor);
      const expected = Array.from({ length: 23 }, (_, i) => i + 1);
      expect(seen).toEqual(order === "asc" ? expected : expected.reverse());
    }
    const defaults = await call(base, "GET", `/applications/${token}/chats`);
    expect(defaults.json.data.length).toBe(23);
    expect(defaults.json.next_cursor).toBeNull();
  });

  test("chats_count follows creates and deletes", async () => {
    const token = await newApp();
    for (let i = 0; i < 4; i++) await call(base, "POST", `/applications/${token}/chats`, {});
    await call(base, "DELETE", `/applications/${token}/chats/2`);
    await eventually(async () => ((await call(base, "GET", `/applications/${token}`)).json.chats_count === 3 ? true : undefined), 15_000, "chats_count 3");
  });

  test("errors: unknown token or chat, bad numbers, bad names, bad list parameters", async () => {
    const token = await newApp();
    await call(base, "POST", `/applications/${token}/chats`, {});
    expect((await call(base, "POST", `/applications/${"x".repeat(32)}/chats`, {})).status).toBe(404);
    expect((await call(base, "GET", `/applications/${"x".repeat(32)}/chats`)).status).toBe(404);
    for (const chat of ["2", "0", "-1", "abc", "1.5", "99999999999", "1e3", "%20"]) {
      const res = await call(base, "GET", `/applications/${token}/chats/${chat}`);
      expect([chat, res.status]).toEqual([chat, 404]);
      expect(errorCode(res)).toBe("not_found");
    }
    for (const body of [{ name: "" }, { name: 5 }, { name: "a\u0007b" }, { name: "x".repeat(256) }]) {
      const res = await call(base, "POST", `/applications/${token}/chats`, body);
      expect(res.status).toBe(422);
    }
    expect((await call(base, "PATCH", `/applications/${token}/chats/1`, {})).status).toBe(422);
    for (const raw of ["[null, null]", "[]", "null", '"x"', "3"]) {
      expect((await call(base, "POST", `/applications/${token}/chats`, raw, { "content-type": "application/json" })).status).toBe(422);
    }
    expect((await call(base, "PATCH", `/applications/${token}/chats/7`, { name: "x" })).status).toBe(404);
    for (const q of ["limit=0", "limit=500", "order=sideways", "cursor=%%%"]) {
      expect((await call(base, "GET", `/applications/${token}/chats?${q}`)).status).toBe(400);
    }
    expect((await call(base, "GET", `/applications/${token}/chats`)).json.data.length).toBe(1);
  });

  test("200 concurrent chat creates on two API processes get exactly 1..200, all persisted", async () => {
    const token = await newApp();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(i % 2 ? base : other, "POST", `/applications/${token}/chats`, { name: `chat ${i}` })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const numbers = results.map((r) => r.json.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await drained();
    const persisted = await rows<{ number: number; name: string }>("SELECT number, name FROM chats WHERE application_id = ? ORDER BY number", [await appId(token)]);
    expect(persisted.length).toBe(200);
    for (const r of results) expect(persisted[r.json.number - 1]!.name).toBe(r.json.name);
    await eventually(async () => ((await call(base, "GET", `/applications/${token}`)).json.chats_count === 200 ? true : undefined));
  });
});
