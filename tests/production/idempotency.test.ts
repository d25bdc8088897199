import { describe, expect, test } from "bun:test";
import { call, errorCode } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { appId, drained, rows } from "../support/stack.ts";

// Two API processes and a worker, shared by the test files of one run.
const [base, other] = (await sharedStack()).apis.map((api) => api.url) as [string, string];

const key = () => `key-${crypto.randomUUID()}`;

describe("Idempotency-Key", () => {
  test("20 concurrent message POSTs with one key on two processes create exactly one message", async () => {
    const token = (await call(base, "POST", "/applications", { name: "idem" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    const k = key();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2 ? base : other, "POST", `/applications/${token}/chats/1/messages`, { body: "once" }, { "idempotency-key": k })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(results.map((r) => JSON.stringify(r.json))).size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true").length).toBe(19);
    await drained();
    expect((await call(base, "GET", `/applications/${token}/chats/1/messages`)).json.data.length).toBe(1);
    expect((await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "next" })).json.number).toBe(2);
  });

  test("chat and application creates are idempotent too, also concurrently", async () => {
    const k = key();
    const apps = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i % 2 ? base : other, "POST", "/applications", { name: "idem app" }, { "idempotency-key": k })));
    expect(apps.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(new Set(apps.map((r) => r.json.token)).size).toBe(1);
    const token = apps[0]!.json.token;
    const ck = key();
    const chats = await Promise.all(Array.from({ length: 20 }, () => call(base, "POST", `/applications/${token}/chats`, { name: "c" }, { "idempotency-key": ck })));
    expect(new Set(chats.map((r) => r.json.number))).toEqual(new Set([1]));
    await drained();
    expect((await rows("SELECT COUNT(*) n FROM chats WHERE application_id = ?", [await appId(token)]))[0]!.n).toBe(1);
  });

  test("the same key with a different body or path is 409 and creates nothing", async () => {
    const token = (await call(base, "POST", "/applications", { name: "idem" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    await call(base, "POST", `/applications/${token}/chats`, {});
    const k = key();
    expect((await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "a" }, { "idempotency-key": k })).status).toBe(201);
    const different = await call(other, "POST", `/applications/${token}/chats/1/messages`, { body: "b" }, { "idempotency-key": k });
    expect(different.status).toBe(409);
    expect(errorCode(different)).toBe("conflict");
    expect((await call(base, "POST", `/applications/${token}/chats/2/messages`, { body: "a" }, { "idempotency-key": k })).status).toBe(409);
    const appKey = key();
    await call(base, "POST", "/applications", { name: "x" }, { "idempotency-key": appKey });
    expect((await call(base, "POST", "/applications", { name: "y" }, { "idempotency-key": appKey })).status).toBe(409);
    expect((await call(base, "GET", `/applications/${token}/chats/1/messages`)).json.data.map((m: { body: string }) => m.body)).toEqual(["a"]);
  });

  test("keys are scoped per application", async () => {
    const k = key();
    for (let i = 0; i < 2; i++) {
      const token = (await call(base, "POST", "/applications", { name: "scope" })).json.token;
      await call(base, "POST", `/applications/${token}/chats`, {});
      const res = await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "same" }, { "idempotency-key": k });
      expect(res.status).toBe(201);
      expect(res.headers.get("idempotent-replayed")).toBeNull();
    }
  });

  test("over-long or non-ASCII keys are 400 and create nothing", async () => {
    const token = (await call(base, "POST", "/applications", { name: "idem" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    for (const bad of ["x".repeat(256), "has space", "tab\there"]) {
      const res = await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "m" }, { "idempotency-key": bad });
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe("bad_request");
    }
    expect((await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "m" }, { "idempotency-key": "x".repeat(255) })).status).toBe(201);
    expect((await call(base, "GET", `/applications/${token}/chats/1/messages`)).json.data.length).toBe(1);
  });
});
