import { afterAll, beforeAll, expect, test } from "bun:test";
import { call } from "../support/http.ts";
import { sharedStack, type SharedStack } from "../support/processes.ts";
import { appId, drained, keys, redisClient, rows } from "../support/stack.ts";

let base: string;
let other: string;
let stack: SharedStack;
beforeAll(async () => {
  stack = await sharedStack();
  [base, other] = stack.apis.map((a) => a.url) as [string, string];
});
afterAll(() => stack?.resumeWorkers());

test("with the workers stopped, every write is visible at once on every process; once persisted, it leaves Redis", async () => {
  const token = (await call(base, "POST", "/applications", { name: "ryw" })).json.token;
  await stack.pauseWorkers();
  try {
    const chat = await call(base, "POST", `/applications/${token}/chats`, { name: "pending chat" });
    const path = `/applications/${token}/chats/${chat.json.number}/messages`;
    for (let i = 1; i <= 5; i++) await call(other, "POST", path, { body: `m${i}` });
    await call(base, "PATCH", `${path}/2`, { body: "m2 edited" });
    await call(other, "DELETE", `${path}/4`);
    await call(base, "PATCH", `/applications/${token}/chats/1`, { name: "renamed while pending" });

    expect(await rows("SELECT * FROM chats WHERE application_id = ?", [await appId(token)])).toEqual([]);
    for (const url of [base, other]) {
      expect((await call(url, "GET", `/applications/${token}/chats/1`)).json.name).toBe("renamed while pending");
      expect((await call(url, "GET", `/applications/${token}/chats`)).json.data.map((c: { name: string }) => c.name)).toEqual(["renamed while pending"]);
      expect((await call(url, "GET", `${path}/2`)).json.body).toBe("m2 edited");
      expect((await call(url, "GET", `${path}/4`)).status).toBe(404);
      expect((await call(url, "GET", path)).json.data.map((m: { body: string }) => m.body)).toEqual(["m1", "m2 edited", "m3", "m5"]);
    }
    expect(await redisClient().zcard(keys.pending(token, 1))).toBe(5);
  } finally {
    stack.resumeWorkers();
  }
  await drained();
  expect(await redisClient().zcard(keys.pending(token, 1))).toBe(0);
  expect(await redisClient().zcard(keys.pendingChats(token))).toBe(0);
  const path = `/applications/${token}/chats/1/messages`;
  expect((await call(base, "GET", path)).json.data.map((m: { body: string }) => m.body)).toEqual(["m1", "m2 edited", "m3", "m5"]);
  expect((await call(base, "GET", `/applications/${token}/chats/1`)).json).toMatchObject({ name: "renamed while pending", messages_count: 4 });
});
