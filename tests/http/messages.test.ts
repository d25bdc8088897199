import { describe, expect, test } from "bun:test";
import { call, errorCode, eventually } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { appId, drained, rows } from "../support/stack.ts";

// Two API processes and a worker, shared by the test files of one run.
const [base, other] = (await sharedStack()).apis.map((api) => api.url) as [string, string];

async function newChat() {
  const token = (await call(base, "POST", "/applications", { name: "messages" })).json.token as string;
  await call(base, "POST", `/applications/${token}/chats`, { name: "room" });
  return { token, path: `/applications/${token}/chats/1/messages` };
}

describe("messages", () => {
  test("a message can be posted the moment its chat's POST returned, on another process", async () => {
    const token = (await call(base, "POST", "/applications", { name: "fast" })).json.token;
    const chat = await call(base, "POST", `/applications/${token}/chats`, {});
    const msg = await call(other, "POST", `/applications/${token}/chats/${chat.json.number}/messages`, { body: "first!" });
    expect(msg.status).toBe(201);
    expect(msg.json).toMatchObject({ number: 1, chat_number: 1, body: "first!" });
    expect(msg.headers.get("location")).toBe(`/api/v1/applications/${token}/chats/1/messages/1`);
    expect(Object.keys(msg.json).sort()).toEqual(["body", "chat_number", "created_at", "number", "updated_at"]);
  });

  test("read-your-writes before the worker, identical after it", async () => {
    const { token, path } = await newChat();
    const created = (await call(base, "POST", path, { body: "hello" })).json;
    expect((await call(other, "GET", `${path}/1`)).json).toEqual(created);
    expect((await call(other, "GET", path)).json.data).toEqual([created]);
    await drained();
    const [row] = await rows("SELECT body FROM messages WHERE application_id = ? AND chat_number = 1 AND number = 1", [await appId(token)]);
    expect(row?.body).toBe("hello");
    expect((await call(other, "GET", `${path}/1`)).json).toEqual(created);
  });

  test("any valid Unicode is kept exactly; bodies are accepted as JSON, form and multipart", async () => {
    const { path } = await newChat();
    const bodies = ["emoji 😀👩‍👩‍👧", "line\nbreak\tand\r\nCRLF", "שלום עולם", "a\u0301\u0302 combining", "x".repeat(10_000), "😀".repeat(10_000), "<script>alert(1)</script>", "' OR 1=1 --", "  padded  "];
    for (const body of bodies) {
      const res = await call(base, "POST", path, { body });
      expect(res.status).toBe(201);
      expect(res.json.body).toBe(body);
    }
    const form = await call(base, "POST", path, new URLSearchParams({ body: "form body\nline" }));
    expect(form.json.body).toBe("form body\nline");
    const data = new FormData();
    data.set("body", "multipart ✓");
    expect((await call(base, "POST", path, data)).json.body).toBe("multipart ✓");
    await drained();
    const list = await call(base, "GET", `${path}?limit=100`);
    expect(list.json.data.map((m: { body: string }) => m.body)).toEqual([...bodies, "form body\nline", "multipart ✓"]);
  });

  test("PATCH/PUT edit, DELETE removes, numbers are not reused, before and after persisting", async () => {
    const { path } = await newChat();
    for (let i = 1; i <= 3; i++) await call(base, "POST", path, { body: `m${i}` });
    const edited = await call(other, "PATCH", `${path}/2`, { body: "edited" });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ number: 2, body: "edited" });
    expect(edited.json.updated_at >= edited.json.created_at).toBe(true);
    expect((await call(base, "GET", `${path}/2`)).json.body).toBe("edited");
    expect((await call(base, "DELETE", `${path}/3`)).status).toBe(204);
    expect((await call(base, "GET", `${path}/3`)).status).toBe(404);
    expect((await call(base, "PATCH", `${path}/3`, { body: "zombie" })).status).toBe(404);
    expect((await call(base, "POST", path, { body: "m4" })).json.number).toBe(4);
    await drained();
    expect((await call(base, "PUT", `${path}/1`, { body: "put after persist" })).json.body).toBe("put after persist");
    expect((await call(base, "DELETE", `${path}/4`)).status).toBe(204);
    expect((await call(base, "GET", path)).json.data.map((m: { number: number; body: string }) => [m.number, m.body])).toEqual([
      [1, "put after persist"],
      [2, "edited"],
    ]);
    await drained();
    expect((await call(base, "GET", path)).json.data.map((m: { number: number; body: string }) => [m.number, m.body])).toEqual([
      [1, "put after persist"],
      [2, "edited"],
    ]);
    expect((await call(base, "GET", `${path}/4`)).status).toBe(404);
  });

  test("messages_count counts live messages after creates and deletes", async () => {
    const { token, path } = await newChat();
    for (let i = 0; i < 6; i++) await call(base, "POST", path, { body: `m${i}` });
    await call(base, "DELETE", `${path}/2`);
    await call(base, "DELETE", `${path}/5`);
    await eventually(async () => ((await call(base, "GET", `/applications/${token}/chats/1`)).json.messages_count === 4 ? true : undefined), 15_000, "messages_count 4");
  });

  test("pagination over 120 messages in both orders", async () => {
    const { path } = await newChat();
    await Promise.all(Array.from({ length: 120 }, (_, i) => call(base, "POST", path, { body: `n${i}` })));
    for (const order of ["asc", "desc"] as const) {
      const seen: number[] = [];
      let cursor: string | null = null;
      do {
        const res: Awaited<ReturnType<typeof call>> = await call(other, "GET", `${path}?limit=50&order=${order}${cursor ? `&cursor=${cursor}` : ""}`);
        seen.push(...res.json.data.map((m: { number: number }) => m.number));
        cursor = res.json.next_cursor;
      } while (cursor);
      const expected = Array.from({ length: 120 }, (_, i) => i + 1);
      expect(seen).toEqual(order === "asc" ? expected : expected.reverse());
    }
  });

  test("deleting a chat or an application removes its messages", async () => {
    const { token, path } = await newChat();
    await call(base, "POST", path, { body: "bye" });
    await drained();
    const id = await appId(token);
    expect((await call(base, "DELETE", `/applications/${token}/chats/1`)).status).toBe(204);
    expect((await call(base, "GET", path)).status).toBe(404);
    await drained();
    expect((await rows("SELECT COUNT(*) n FROM messages WHERE application_id = ?", [id]))[0]!.n).toBe(0);

    await call(base, "POST", `/applications/${token}/chats`, {});
    await call(base, "POST", `/applications/${token}/chats/2/messages`, { body: "later" });
    expect((await call(base, "DELETE", `/applications/${token}`)).status).toBe(204);
    expect((await call(base, "GET", `/applications/${token}/chats/2/messages`)).status).toBe(404);
    await drained();
    expect((await rows("SELECT COUNT(*) n FROM messages WHERE application_id = ?", [id]))[0]!.n).toBe(0);
    expect((await rows("SELECT COUNT(*) n FROM chats WHERE application_id = ?", [id]))[0]!.n).toBe(0);
  });

  test("errors: unknown chat or message, bad numbers, invalid bodies, bad list parameters", async () => {
    const { token, path } = await newChat();
    await call(base, "POST", path, { body: "one" });
    expect((await call(base, "POST", `/applications/${token}/chats/9/messages`, { body: "x" })).status).toBe(404);
    expect((await call(base, "GET", `/applications/${token}/chats/9/messages`)).status).toBe(404);
    for (const n of ["2", "0", "abc", "4294967296"]) {
      const res = await call(base, "GET", `${path}/${n}`);
      expect([n, res.status]).toEqual([n, 404]);
      expect(errorCode(res)).toBe("not_found");
    }
    const invalid = [{}, { body: "" }, { body: " \n\t " }, { body: 12 }, { body: null }, { body: "x".repeat(10_001) }, { body: "nul\u0000byte" }, { body: "bell\u0007" }, { body: "\udc00" }];
    for (const body of invalid) {
      const res = await call(base, "POST", path, body);
      expect([JSON.stringify(body).slice(0, 40), res.status]).toEqual([JSON.stringify(body).slice(0, 40), 422]);
      expect(errorCode(res)).toBe("validation_failed");
    }
    expect((await call(base, "PATCH", `${path}/1`, {})).status).toBe(422);
    expect((await call(base, "POST", path, "{", { "content-type": "application/json" })).status).toBe(400);
    expect((await call(base, "POST", path, "body", { "content-type": "text/csv" })).status).toBe(415);
    expect((await call(base, "POST", path, { body: "x".repeat(70_000) })).status).toBe(413);
    for (const q of ["limit=-1", "limit=101", "order=DESC", "cursor=e30"]) {
      expect([q, (await call(base, "GET", `${path}?${q}`)).status]).toEqual([q, 400]);
    }
    expect((await call(base, "GET", path)).json.data.map((m: { body: string }) => m.body)).toEqual(["one"]);
  });

  test("1,000 concurrent creates in one chat on two API processes: exactly 1..1000, all persisted", async () => {
    const { token, path } = await newChat();
    const results: Awaited<ReturnType<typeof call>>[] = [];
    // 1,000 requests in flight through 100 concurrent senders spread over both processes.
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async (_, sender) => {
        while (next < 1000) {
          const i = next++;
          results[i] = await call(sender % 2 ? base : other, "POST", path, { body: `concurrent ${i}` });
        }
      }),
    );
    expect(results.filter((r) => r.status === 201).length).toBe(1000);
    expect(results.map((r) => r.json.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    await drained();
    const persisted = await rows<{ number: number; body: string }>(
      "SELECT number, body FROM messages WHERE application_id = ? AND chat_number = 1 ORDER BY number",
      [await appId(token)],
    );
    expect(persisted.length).toBe(1000);
    const byNumber = new Map(results.map((r) => [r.json.number, r.json.body]));
    for (const row of persisted) expect(row.body).toBe(byNumber.get(row.number)!);
    await eventually(async () => ((await call(base, "GET", `/applications/${token}/chats/1`)).json.messages_count === 1000 ? true : undefined));
  });
});
