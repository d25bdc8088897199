/**
 * What a browser needs on every response, errors, 404s, 429s and event streams included: CORS for
 * any origin with the headers a script may read (Location, Retry-After, the rate-limit headers,
 * Idempotent-Replayed, X-Request-Id), and an X-Request-Id: the client's own when it is 1..200 visible
 * ASCII characters, else one the server made up.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startApi, type Api } from "../support/processes.ts";

const EXPOSED = ["location", "retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "idempotent-replayed", "x-request-id"];
const LIMIT = 3;

let api: Api;
beforeAll(async () => {
  api = await startApi({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
});
afterAll(async () => {
  await api?.stop();
});

const send = (method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) =>
  fetch(`${api.url}${path}`, {
    method,
    headers: { ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });

function expectBrowserHeaders(res: Response, what: string) {
  expect([what, res.headers.get("access-control-allow-origin")]).toEqual([what, "*"]);
  const exposed = (res.headers.get("access-control-expose-headers") ?? "").split(",").map((h) => h.trim().toLowerCase());
  for (const header of EXPOSED) expect([what, exposed]).toEqual([what, expect.arrayContaining([header])]);
  expect([what, res.headers.get("x-request-id")]).toEqual([what, expect.stringMatching(/^[\x21-\x7e]{1,200}$/)]);
}

const newApp = async () => ((await (await send("POST", "/api/v1/applications", { body: { name: "browser" } })).json()) as { token: string }).token;

describe("headers on every response", () => {
  test("201, 404 (unknown resource and unknown route), 405, 415, 422 and the preflight", async () => {
    const created = await send("POST", "/api/v1/applications", { body: { name: "browser" } });
    expect(created.status).toBe(201);
    expectBrowserHeaders(created, "201");
    const cases: [string, Response, number][] = [
      ["unknown application", await send("GET", `/api/v1/applications/${"A".repeat(32)}`), 404],
      ["unknown route", await send("GET", "/nope"), 404],
      ["wrong method", await send("DELETE", "/api/v1/applications"), 405],
      ["wrong content type", await send("POST", "/api/v1/applications", { headers: { "content-type": "text/plain" }, body: "x" }), 415],
      ["invalid body", await send("POST", "/api/v1/applications", { body: { name: { toString: 1 } } }), 422],
    ];
    for (const [what, res, status] of cases) {
      expect([what, res.status]).toEqual([what, status]);
      expectBrowserHeaders(res, what);
    }

    const preflight = await send("OPTIONS", "/api/v1/applications", { headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expectBrowserHeaders(preflight, "preflight");
    const allowed = (preflight.headers.get("access-control-allow-headers") ?? "").split(",").map((h) => h.trim());
    expect(allowed).toEqual(expect.arrayContaining(["x-request-id", "idempotency-key", "content-type", "authorization", "last-event-id"]));
  });

  test("429 with Retry-After and the rate-limit headers, readable by a script", async () => {
    const token = await newApp();
    let res: Response | undefined;
    for (let i = 0; i <= LIMIT; i++) {
      res = await send("GET", `/api/v1/applications/${token}`);
      if (res.status === 429) break;
      expect(res.status).toBe(200);
      expectBrowserHeaders(res, `GET ${i}`);
      expect(res.headers.get("ratelimit-remaining")).not.toBeNull();
    }
    expect(res!.status).toBe(429);
    expectBrowserHeaders(res!, "429");
    expect(Number(res!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("an event stream", async () => {
    const token = await newApp();
    expect((await send("POST", `/api/v1/applications/${token}/chats`, { body: { name: "room" } })).status).toBe(201);
    const abort = new AbortController();
    const res = await fetch(`${api.url}/api/v1/applications/${token}/chats/1/events`, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    expectBrowserHeaders(res, "SSE");
    abort.abort();
  });
});

describe("x-request-id", () => {
  test("the client's id is echoed, on successes and errors alike", async () => {
    for (const id of ["client-id-1", "x".repeat(200), "~!@#$%^&*()_+{}|:<>?"]) {
      expect((await send("POST", "/api/v1/applications", { body: { name: "id" }, headers: { "x-request-id": id } })).headers.get("x-request-id")).toBe(id);
      expect((await send("GET", "/api/v1/applications/nope", { headers: { "x-request-id": id } })).headers.get("x-request-id")).toBe(id);
    }
  });

  test("a missing or unusable one is replaced by a fresh id", async () => {
    const seen = new Set<string>();
    const variants: Record<string, string>[] = [{}, {}, { "x-request-id": "has space" }, { "x-request-id": "x".repeat(201) }, { "x-request-id": "caf\u00e9" }, { "x-request-id": "" }];
    for (const headers of variants) {
      const res = await send("GET", "/nope", { headers });
      const id = res.headers.get("x-request-id")!;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(6);
  });
});
