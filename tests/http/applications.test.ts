import { beforeAll, describe, expect, test } from "bun:test";
import { call, errorCode } from "../support/http.ts";
import { sharedStack, startApi } from "../support/processes.ts";

let base: string;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
});

const admin = { authorization: `Bearer ${process.env.ADMIN_API_KEY}` };

describe("applications", () => {
  test("create returns 201, a Location and a 32-character URL-safe token", async () => {
    const res = await call(base, "POST", "/applications", { name: "My app" });
    expect(res.status).toBe(201);
    expect(res.json.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(res.headers.get("location")).toBe(`/api/v1/applications/${res.json.token}`);
    expect(res.json).toMatchObject({ name: "My app", chats_count: 0 });
    expect(new Date(res.json.created_at).toISOString()).toBe(res.json.created_at);
    expect(Object.keys(res.json).sort()).toEqual(["chats_count", "created_at", "name", "token", "updated_at"]);
  });

  test("tokens differ between applications", async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => call(base, "POST", "/applications", { name: "x" }).then((r) => r.json.token)));
    expect(new Set(tokens).size).toBe(20);
  });

  test("accepts form-urlencoded and multipart bodies", async () => {
    const form = await call(base, "POST", "/applications", new URLSearchParams({ name: "form app" }));
    expect(form.status).toBe(201);
    expect(form.json.name).toBe("form app");
    const data = new FormData();
    data.set("name", "multipart app");
    const multipart = await call(base, "POST", "/applications", data);
    expect(multipart.status).toBe(201);
    expect(multipart.json.name).toBe("multipart app");
  });

  test("get, PATCH, PUT and DELETE", async () => {
    const { json: app } = await call(base, "POST", "/applications", { name: "before" });
    const got = await call(base, "GET", `/applications/${app.token}`);
    expect(got.status).toBe(200);
    expect(got.json).toEqual(app);

    const patched = await call(base, "PATCH", `/applications/${app.token}`, { name: "after" });
    expect(patched.status).toBe(200);
    expect(patched.json.name).toBe("after");
    expect(patched.json.created_at).toBe(app.created_at);
    const put = await call(base, "PUT", `/applications/${app.token}`, { name: "put name" });
    expect(put.json.name).toBe("put name");
    expect((await call(base, "GET", `/applications/${app.token}`)).json.name).toBe("put name");

    const deleted = await call(base, "DELETE", `/applications/${app.token}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    const gone = await call(base, "GET", `/applications/${app.token}`);
    expect(gone.status).toBe(404);
    expect(errorCode(gone)).toBe("not_found");
    expect((await call(base, "DELETE", `/applications/${app.token}`)).status).toBe(404);
  });

  test("unusual but valid names are kept exactly", async () => {
    for (const name of ["héllo wörld", "مرحبا بالعالم", "👩‍👩‍👧‍👦 family", "e\u0301 combining", "x".repeat(255), "😀".repeat(255), "Robert'); DROP TABLE applications;--"]) {
      const res = await call(base, "POST", "/applications", { name });
      expect(res.status).toBe(201);
      expect((await call(base, "GET", `/applications/${res.json.token}`)).json.name).toBe(name);
    }
  });
});

describe("application errors", () => {
  test("unknown and malformed tokens are 404", async () => {
    for (const token of ["A".repeat(32), "short", "..%2F..%2Fetc", "a".repeat(200)]) {
      const res = await call(base, "GET", `/applications/${token}`);
      expect(res.status).toBe(404);
      expect(errorCode(res)).toBe("not_found");
    }
    expect((await call(base, "PATCH", `/applications/${"B".repeat(32)}`, { name: "x" })).status).toBe(404);
  });

  test("invalid names are 422 and create nothing", async () => {
    const invalid: unknown[] = [{}, { name: "" }, { name: "   " }, { name: "x".repeat(256) }, { name: "😀".repeat(256) }, { name: 42 }, { name: null }, { name: ["a"] }, { name: "two\nlines" }, { name: "nul\u0000" }, { name: "\ud800" }, []];
    for (const body of invalid) {
      const res = await call(base, "POST", "/applications", body);
      expect([res.status, body]).toEqual([422, body]);
      expect(errorCode(res)).toBe("validation_failed");
    }
    for (const raw of ['"str"', "7", "null", "true"]) {
      expect((await call(base, "POST", "/applications", raw, { "content-type": "application/json" })).status).toBe(422);
    }
    const { json: app } = await call(base, "POST", "/applications", { name: "keep" });
    const res = await call(base, "PATCH", `/applications/${app.token}`, { name: "" });
    expect(res.status).toBe(422);
    expect((await call(base, "PATCH", `/applications/${app.token}`, {})).status).toBe(422);
    expect((await call(base, "GET", `/applications/${app.token}`)).json.name).toBe("keep");
  });

  test("malformed bodies are 400, wrong types 415, large ones 413", async () => {
    const bad = await call(base, "POST", "/applications", '{"name": ', { "content-type": "application/json" });
    expect(bad.status).toBe(400);
    expect(errorCode(bad)).toBe("bad_request");
    const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const utf8 = await call(base, "POST", "/applications", invalidUtf8, { "content-type": "application/json" });
    expect(utf8.status).toBe(400);
    const xml = await call(base, "POST", "/applications", "<name>x</name>", { "content-type": "application/xml" });
    expect(xml.status).toBe(415);
    expect(errorCode(xml)).toBe("unsupported_media_type");
    const text = await call(base, "POST", "/applications", "name=x", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    const big = await call(base, "POST", "/applications", { name: "x".repeat(70_000) });
    expect(big.status).toBe(413);
    expect(errorCode(big)).toBe("payload_too_large");
    const huge = await call(base, "POST", "/applications", { name: "x".repeat(2_000_000) });
    expect([huge.status, errorCode(huge)]).toEqual([413, "payload_too_large"]);
    // Without a Content-Length (a stream of unknown size is sent chunked), the limit holds while reading.
    const chunkedBody = (text: string) =>
      new ReadableStream({
        start(controller) {
          for (let i = 0; i < text.length; i += 16_384) controller.enqueue(new TextEncoder().encode(text.slice(i, i + 16_384)));
          controller.close();
        },
      });
    const chunked = await fetch(`${base}/api/v1/applications`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunkedBody(JSON.stringify({ name: "x".repeat(100_000) })),
    });
    expect([chunked.status, ((await chunked.json()) as { error: { code: string } }).error.code]).toEqual([413, "payload_too_large"]);
    const smallChunked = await fetch(`${base}/api/v1/applications`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chunkedBody(JSON.stringify({ name: "chunked" })),
    });
    expect([smallChunked.status, ((await smallChunked.json()) as { name: string }).name]).toEqual([201, "chunked"]);
    const deep = await call(base, "POST", "/applications", "[".repeat(5000) + "]".repeat(5000), { "content-type": "application/json" });
    expect(deep.status).toBe(422);
  });

  test("unknown routes are 404 and wrong methods 405, in the envelope", async () => {
    const unknown = await call(base, "GET", "/nope");
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe("not_found");
    const method = await call(base, "DELETE", "/applications");
    expect(method.status).toBe(405);
    expect(errorCode(method)).toBe("method_not_allowed");
    expect(method.headers.get("allow")).toContain("POST");
    // …/messages/search is the search resource: other methods are 405, not a message numbered "search".
    const token = (await call(base, "POST", "/applications", { name: "methods" })).json.token as string;
    await call(base, "POST", `/applications/${token}/chats`, {});
    for (const verb of ["PATCH", "PUT", "DELETE", "POST"]) {
      const res = await call(base, verb, `/applications/${token}/chats/1/messages/search`, verb === "DELETE" ? undefined : { body: "x" });
      expect({ verb, status: res.status, allow: res.headers.get("allow"), code: errorCode(res) }).toEqual({ verb, status: 405, allow: "GET", code: "method_not_allowed" });
    }
    const preflight = await fetch(`${base}/api/v1/applications/${token}/chats/1/messages/search`, { method: "OPTIONS" });
    expect(preflight.headers.get("allow")).toBe("GET, OPTIONS");
  });
});

describe("admin list", () => {
  test("needs the admin key: 401 without, 403 wrong, 200 right", async () => {
    const none = await call(base, "GET", "/applications");
    expect(none.status).toBe(401);
    expect(errorCode(none)).toBe("unauthorized");
    const wrong = await call(base, "GET", "/applications", undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(403);
    expect(errorCode(wrong)).toBe("forbidden");
    const ok = await call(base, "GET", "/applications?limit=2", undefined, admin);
    expect(ok.status).toBe(200);
    expect(ok.json.data.length).toBe(2);
  });

  test("paginates with an opaque cursor in both orders, without repeats", async () => {
    for (let i = 0; i < 5; i++) await call(base, "POST", "/applications", { name: `page ${i}` });
    for (const order of ["asc", "desc"]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Awaited<ReturnType<typeof call>> = await call(base, "GET", `/applications?limit=7&order=${order}${cursor ? `&cursor=${cursor}` : ""}`, undefined, admin);
        expect(res.status).toBe(200);
        seen.push(...res.json.data.map((a: { token: string }) => a.token));
        cursor = res.json.next_cursor;
        pages++;
      } while (cursor && pages < 1000);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.length).toBeGreaterThan(7);
    }
  });

  test("bad limit, order or cursor are 400", async () => {
    for (const query of ["limit=0", "limit=101", "limit=abc", "limit=1.5", "order=up", "cursor=!!!", "cursor=bm9wZQ"]) {
      const res = await call(base, "GET", `/applications?${query}`, undefined, admin);
      expect([query, res.status]).toEqual([query, 400]);
      expect(errorCode(res)).toBe("bad_request");
    }
  });

  test("the route does not exist when no admin key is configured", async () => {
    const api = await startApi({ ADMIN_API_KEY: "" });
    try {
      const res = await call(api.url, "GET", "/applications", undefined, admin);
      expect([404, 405]).toContain(res.status);
      expect((await call(api.url, "POST", "/applications", { name: "still works" })).status).toBe(201);
    } finally {
      await api.stop();
    }
  });
});

describe("operations", () => {
  test("healthz, readyz and the OpenAPI document", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { mysql: "up", redis: "up", elasticsearch: "up" } });
    const doc = await (await fetch(`${base}/swagger/json`)).json();
    expect(Object.keys(doc.paths)).toContain("/api/v1/applications/{token}");
    expect((await fetch(`${base}/swagger`)).status).toBe(200);
  });

  test("Prometheus metrics: request latency, accepted writes, stream lag and pending, dead letters", async () => {
    const { json: app } = await call(base, "POST", "/applications", { name: "metrics" });
    await call(base, "POST", `/applications/${app.token}/chats`, {});
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/applications\/:token\/chats\/",status="201"\} \d+$/m);
    expect(text).toMatch(/^chat_accepted_writes_total\{kind="chat"\} [1-9]\d*$/m);
    expect(text).toMatch(/^chat_stream_lag\{stream="stream:\{s0\}",group="mysql"\} \d+$/m);
    expect(text).toMatch(/^chat_stream_pending\{stream="stream:\{s0\}",group="search"\} \d+$/m);
    expect(text).toMatch(/^chat_dead_letters \d+$/m);
    expect(text).not.toContain(app.token);
  });

  test("readyz is 503 with each dependency's state when one is down", async () => {
    const api = await startApi({ ELASTICSEARCH_URL: "http://127.0.0.1:1", REDIS_URL: "redis://127.0.0.1:1/0", REDIS_CLUSTER_NODES: process.env.REDIS_CLUSTER_NODES ? "127.0.0.1:1" : "" });
    try {
      const res = await fetch(`${api.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: "unavailable", checks: { mysql: "up", redis: "down", elasticsearch: "down" } });
    } finally {
      await api.stop("SIGKILL");
    }
  });
});
