/** Webhook endpoints over HTTP (SPEC §5.7): create, list, get, delete, their limits and the URL guard. */
import { describe, expect, test } from "bun:test";
import { call, errorCode } from "../support/http.ts";
import { sharedStack, startApi } from "../support/processes.ts";
import { appId, rows } from "../support/stack.ts";

const [base, other] = (await sharedStack()).apis.map((api) => api.url) as [string, string];
const newApp = async () => (await call(base, "POST", "/applications", { name: "webhooks" })).json.token as string;
const ALL = ["chat.created", "chat.updated", "chat.deleted", "message.created", "message.updated", "message.deleted"];

describe("webhook endpoints", () => {
  test("create shows the secret once; get and list never do; delete removes it", async () => {
    const token = await newApp();
    const created = await call(base, "POST", `/applications/${token}/webhooks`, { url: "http://127.0.0.1:9/hook", events: ["message.created"], description: "crm sync" });
    expect(created.status).toBe(201);
    expect(Object.keys(created.json).sort()).toEqual(["created_at", "description", "events", "id", "secret", "url"]);
    expect(created.json.id).toMatch(/^wh_[A-Za-z0-9_-]{24}$/);
    expect(created.json.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.json.secret.slice(6), "base64").length).toBe(32);
    expect(created.json).toMatchObject({ url: "http://127.0.0.1:9/hook", events: ["message.created"], description: "crm sync" });
    expect(created.headers.get("location")).toBe(`/api/v1/applications/${token}/webhooks/${created.json.id}`);
    const { secret, ...shown } = created.json;

    // Read on the other API process: no secret anywhere.
    const got = await call(other, "GET", `/applications/${token}/webhooks/${created.json.id}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(shown);
    expect(got.text).not.toContain(secret);
    const all = await call(other, "GET", `/applications/${token}/webhooks`);
    expect(all.json).toEqual({ data: [shown], next_cursor: null });

    // Default: every event type; no description.
    const plain = await call(base, "POST", `/applications/${token}/webhooks`, { url: "https://example.com/hooks" });
    expect(plain.status).toBe(201);
    expect(plain.json).toMatchObject({ events: ALL, description: null });

    expect((await call(base, "DELETE", `/applications/${token}/webhooks/${created.json.id}`)).status).toBe(204);
    expect(errorCode(await call(other, "GET", `/applications/${token}/webhooks/${created.json.id}`))).toBe("not_found");
    expect((await call(base, "DELETE", `/applications/${token}/webhooks/${created.json.id}`)).status).toBe(404);
    expect((await call(base, "GET", `/applications/${token}/webhooks`)).json.data.map((e: { id: string }) => e.id)).toEqual([plain.json.id]);
  });

  test("at most 20 per application, also when created concurrently; keyset pages", async () => {
    const token = await newApp();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => call(i % 2 ? base : other, "POST", `/applications/${token}/webhooks`, { url: `https://example.com/${i}` })));
    expect(results.filter((r) => r.status === 201).length).toBe(20);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused.map((r) => r.status)).toEqual([409, 409, 409, 409]);
    expect(errorCode(refused[0]!)).toBe("conflict");

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(base, "GET", `/applications/${token}/webhooks?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.json.data.map((e: { id: string }) => e.id));
      cursor = page.json.next_cursor as string | null;
    } while (cursor);
    expect(seen.length).toBe(20);
    expect(new Set(seen).size).toBe(20);
    const desc = await call(base, "GET", `/applications/${token}/webhooks?limit=100&order=desc`);
    expect(desc.json.data.map((e: { id: string }) => e.id)).toEqual([...seen].reverse());
  });

  test("bad input is a 4xx in the envelope and creates nothing", async () => {
    const token = await newApp();
    const cases: [unknown, number][] = [
      [{}, 422],
      [{ url: "" }, 422],
      [{ url: "ftp://example.com/x" }, 422],
      [{ url: "not a url" }, 422],
      [{ url: "https://user:pass@example.com/" }, 422],
      [{ url: `https://example.com/${"a".repeat(2030)}` }, 422],
      [{ url: "https://example.com/", events: ["message.sent"] }, 422],
      [{ url: "https://example.com/", events: [] }, 422],
      [{ url: "https://example.com/", events: "chat.*" }, 422],
      [{ url: "https://example.com/", description: "two\nlines" }, 422],
      [{ url: { toString: "https://example.com/" } }, 422],
      [{ url: ["https://example.com/"] }, 422],
    ];
    for (const [body, status] of cases) {
      const res = await call(base, "POST", `/applications/${token}/webhooks`, body);
      expect({ body, status: res.status }).toEqual({ body, status });
      errorCode(res);
    }
    expect((await call(base, "POST", `/applications/${token}/webhooks`, "{", { "content-type": "application/json" })).status).toBe(400);
    expect((await call(base, "POST", `/applications/${"x".repeat(32)}/webhooks`, { url: "https://example.com/" })).status).toBe(404);
    for (const id of ["wh_nope", "whatever", "wh_" + "a".repeat(24)]) expect((await call(base, "GET", `/applications/${token}/webhooks/${id}`)).status).toBe(404);
    expect((await call(base, "GET", `/applications/${token}/webhooks`)).json.data).toEqual([]);
  });

  test("one event type may come as form data; a repeat with the Idempotency-Key answers the original", async () => {
    const token = await newApp();
    const form = await call(base, "POST", `/applications/${token}/webhooks`, new URLSearchParams({ url: "https://example.com/form", events: "chat.created" }));
    expect(form.status).toBe(201);
    expect(form.json.events).toEqual(["chat.created"]);
    const headers = { "idempotency-key": "wh-once-1" };
    const first = await call(base, "POST", `/applications/${token}/webhooks`, { url: "https://example.com/once" }, headers);
    const again = await call(other, "POST", `/applications/${token}/webhooks`, { url: "https://example.com/once" }, headers);
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    expect((await call(base, "POST", `/applications/${token}/webhooks`, { url: "https://example.com/other" }, headers)).status).toBe(409);
    expect((await call(base, "GET", `/applications/${token}/webhooks`)).json.data.length).toBe(2);
  });

  test("deleting the application deletes its endpoints", async () => {
    const token = await newApp();
    const id = await appId(token);
    await call(base, "POST", `/applications/${token}/webhooks`, { url: "https://example.com/a" });
    expect((await rows("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE application_id = ?", [id]))[0]!.n).toBe(1);
    expect((await call(base, "DELETE", `/applications/${token}`)).status).toBe(204);
    expect((await rows("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE application_id = ?", [id]))[0]!.n).toBe(0);
    expect((await call(base, "GET", `/applications/${token}/webhooks`)).status).toBe(404);
  });

  test("in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${base}/swagger/json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    const list = doc.paths["/api/v1/applications/{token}/webhooks"]!;
    const one = doc.paths["/api/v1/applications/{token}/webhooks/{id}"]!;
    expect(Object.keys(list).sort()).toEqual(["get", "post"]);
    expect(Object.keys(one).sort()).toEqual(["delete", "get"]);
    expect(Object.keys(list.post!.responses)).toEqual(expect.arrayContaining(["201", "404", "409", "422"]));
  });
});

describe("the URL guard (WEBHOOK_ALLOW_PRIVATE_URLS off)", () => {
  test("loopback, private, link-local and metadata addresses are refused, also behind a hostname", async () => {
    const guarded = await startApi({ WEBHOOK_ALLOW_PRIVATE_URLS: "false" });
    try {
      const token = (await call(guarded.url, "POST", "/applications", { name: "ssrf" })).json.token as string;
      const refused = [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook", // a hostname that resolves to 127.0.0.1
        "http://10.1.2.3/",
        "http://172.20.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00:ec2::254]/",
        "http://0.0.0.0/",
        "http://2130706433/", // 127.0.0.1 as one number
        "http://no-such-host.invalid/",
      ];
      for (const url of refused) {
        const res = await call(guarded.url, "POST", `/applications/${token}/webhooks`, { url });
        expect({ url, status: res.status, code: errorCode(res) }).toEqual({ url, status: 422, code: "validation_failed" });
      }
      // A public address is accepted (no DNS needed for an IP literal).
      expect((await call(guarded.url, "POST", `/applications/${token}/webhooks`, { url: "https://93.184.215.14/hook" })).status).toBe(201);
      expect((await call(guarded.url, "GET", `/applications/${token}/webhooks`)).json.data.length).toBe(1);
    } finally {
      await guarded.stop();
    }
  });
});
