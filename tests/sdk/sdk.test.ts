import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ApiError,
  ApiPromise,
  AuthenticationError,
  BadRequestError,
  ChatClient,
  ConflictError,
  ConnectionError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  type FetchLike,
} from "../../sdk/src/index.ts";
import { sharedStack, startApi, type Api } from "../support/processes.ts";
import { drained, searchable } from "../support/stack.ts";

let base: string;
let client: ChatClient;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
  client = new ChatClient({ baseUrl: base, adminKey: process.env.ADMIN_API_KEY });
});

/** A proxy in front of the API that can misbehave on purpose. */
function proxy(behave: (request: Request, forward: () => Promise<Response>) => Promise<Response>) {
  const server = Bun.serve({
    port: 0,
    fetch: (request) => {
      const url = new URL(request.url);
      const forward = async () => fetch(`${base}${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body: await request.arrayBuffer() });
      return behave(request, forward);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

describe("resources", () => {
  test("applications, chats and messages: every method", async () => {
    const app = await client.applications.create({ name: "sdk app" });
    expect(app.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await client.applications.get(app.token)).toEqual(app);
    expect((await client.applications.update(app.token, { name: "renamed" })).name).toBe("renamed");
    const listed = await (await client.applications.list({ order: "desc", limit: 5 })).toArray({ limit: 50 });
    expect(listed.some((a) => a.token === app.token)).toBe(true);

    const chats = client.chats(app.token);
    const chat = await chats.create({ name: "general" });
    expect(chat).toMatchObject({ number: 1, name: "general", messages_count: 0 });
    expect((await chats.create()).number).toBe(2);
    expect(await chats.get(1)).toEqual(chat);
    expect((await chats.update(1, { name: null })).name).toBeNull();
    expect(await chats.delete(2)).toBeUndefined();
    expect((await chats.list()).data.map((c) => c.number)).toEqual([1]);

    const messages = client.messages(app.token, 1);
    const message = await messages.create({ body: "hello 👋\nworld" });
    expect(message).toMatchObject({ number: 1, chat_number: 1, body: "hello 👋\nworld" });
    expect(await messages.get(1)).toEqual(message);
    expect((await messages.update(1, { body: "edited" })).body).toBe("edited");
    await messages.create({ body: "second" });
    expect(await messages.delete(2)).toBeUndefined();
    expect((await messages.list()).data.map((m) => m.body)).toEqual(["edited"]);
    await searchable();
    const hits = await messages.search("dite");
    expect(hits.data.map((h) => [h.number, h.highlight])).toEqual([[1, "e<em>dite</em>d"]]);

    expect(await client.applications.delete(app.token)).toBeUndefined();
    await expect(client.applications.get(app.token)).rejects.toBeInstanceOf(NotFoundError);
  });

  test("pagination over hundreds of items: pages, lazy iteration, toArray", async () => {
    const { token } = await client.applications.create({ name: "pages" });
    await client.chats(token).create();
    const messages = client.messages(token, 1);
    for (let i = 0; i < 250; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => messages.create({ body: `m${i + k + 1}` })));
    const first = await messages.list({ limit: 100 });
    expect(first.data.length).toBe(100);
    expect(first.next_cursor).not.toBeNull();
    const numbers: number[] = [];
    for await (const m of await messages.list({ limit: 40, order: "desc" })) numbers.push(m.number);
    expect(numbers).toEqual(Array.from({ length: 250 }, (_, i) => 250 - i));
    expect((await first.toArray({ limit: 130 })).length).toBe(130);
    const requested: string[] = [];
    const counting = new ChatClient({ baseUrl: base, fetch: (input, init) => (requested.push(input), fetch(input, init)) });
    for await (const m of await counting.messages(token, 1).list({ limit: 50 })) if (m.number === 60) break;
    expect(requested.length).toBe(2);
  });
});

describe("errors", () => {
  test("one class per status, with status, code, message and details", async () => {
    const { token } = await client.applications.create({ name: "errors" });
    await client.chats(token).create();
    const cases: [() => Promise<unknown>, new (...a: never[]) => ApiError, number][] = [
      [() => client.chats(token).list({ cursor: "not a cursor" }), BadRequestError, 400],
      [() => new ChatClient({ baseUrl: base }).applications.list(), AuthenticationError, 401],
      [() => new ChatClient({ baseUrl: base, adminKey: "wrong" }).applications.list(), AuthenticationError, 403],
      [() => client.chats(token).get(99), NotFoundError, 404],
      [() => client.messages(token, 1).create({ body: "x".repeat(70_000) }), PayloadTooLargeError, 413],
      [() => client.applications.create({ name: "" }), ValidationError, 422],
    ];
    for (const [call, type, status] of cases) {
      const error = await call().then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(ApiError);
      expect([error.status, typeof error.code, typeof error.message]).toEqual([status, "string", "string"]);
    }
    const validation = await client.applications.create({ name: "" }).catch((e) => e);
    expect(validation.details.length).toBeGreaterThan(0);
    await client.messages(token, 1).create({ body: "a" }, { idempotencyKey: "same-key" });
    const conflict = await client.messages(token, 1).create({ body: "b" }, { idempotencyKey: "same-key" }).catch((e) => e);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict.status).toBe(409);
  });

  test("429 is a RateLimitError with retryAfter; 503 a ServiceUnavailableError", async () => {
    const limited: Api = await startApi({ RATE_LIMIT_PER_MINUTE: "1" });
    const broken: Api = await startApi({ REDIS_URL: "redis://127.0.0.1:1/0" });
    try {
      const { token } = await client.applications.create({ name: "limits" });
      const strict = new ChatClient({ baseUrl: limited.url, maxRetries: 0 });
      await strict.applications.get(token);
      const error = await strict.applications.get(token).catch((e) => e);
      expect(error).toBeInstanceOf(RateLimitError);
      expect(error.retryAfter).toBeGreaterThanOrEqual(1);
      const down = await new ChatClient({ baseUrl: broken.url, maxRetries: 0 }).chats(token).list().catch((e) => e);
      expect(down).toBeInstanceOf(ServiceUnavailableError);
      expect(down.status).toBe(503);
    } finally {
      await Promise.all([limited.stop(), broken.stop("SIGKILL")]);
    }
  });

  test("no server is a ConnectionError; no answer in time a TimeoutError; an abort is the signal's reason", async () => {
    const nowhere = await new ChatClient({ baseUrl: "http://127.0.0.1:1", maxRetries: 0 }).applications.get("x").catch((e) => e);
    expect(nowhere).toBeInstanceOf(ConnectionError);
    expect(nowhere.status).toBe(0);
    const slow = proxy(async (_req, forward) => (await Bun.sleep(1500), forward()));
    try {
      const timeout = await new ChatClient({ baseUrl: slow.url, timeout: 200, maxRetries: 0 }).applications.create({ name: "slow" }).catch((e) => e);
      expect(timeout).toBeInstanceOf(TimeoutError);
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const aborted = await new ChatClient({ baseUrl: slow.url }).applications.create({ name: "x" }, { signal: controller.signal }).catch((e) => e);
      expect(aborted.name).toBe("AbortError");
    } finally {
      slow.stop();
    }
  });
});

describe("retries", () => {
  test("a POST whose response is lost is retried with the same Idempotency-Key and creates once", async () => {
    const { token } = await client.applications.create({ name: "lossy" });
    await client.chats(token).create();
    const keys: string[] = [];
    let lost = 0;
    const lossy = proxy(async (request, forward) => {
      if (request.method === "POST") keys.push(request.headers.get("idempotency-key") ?? "");
      const response = await forward();
      if (request.method === "POST" && lost < 2) {
        lost++;
        return new Response("upstream response lost", { status: 502 });
      }
      return response;
    });
    try {
      const message = await new ChatClient({ baseUrl: lossy.url }).messages(token, 1).create({ body: "exactly once" });
      expect(message.number).toBe(1);
      expect(keys.length).toBe(3);
      expect(new Set(keys).size).toBe(1);
      await drained();
      expect((await client.messages(token, 1).list()).data.map((m) => m.body)).toEqual(["exactly once"]);
    } finally {
      lossy.stop();
    }
  });

  test("429 honours Retry-After; gives up after maxRetries", async () => {
    let calls = 0;
    const busy = proxy(async (_req, forward) => (++calls === 1 ? new Response("{}", { status: 429, headers: { "retry-after": "1" } }) : forward()));
    try {
      const started = Date.now();
      const app = await new ChatClient({ baseUrl: busy.url }).applications.create({ name: "after retry" });
      expect(app.name).toBe("after retry");
      expect(calls).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      busy.stop();
    }
    let attempts = 0;
    const failing = proxy(async () => (attempts++, new Response("{}", { status: 500 })));
    try {
      const error = await new ChatClient({ baseUrl: failing.url, maxRetries: 2 }).applications.get("x").catch((e) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect(error.status).toBe(500);
      expect(attempts).toBe(3);
    } finally {
      failing.stop();
    }
  });
});

/** A fetch that counts the requests it sends (`attempts.count`). */
function counting(): { fetch: FetchLike; attempts: { count: number } } {
  const attempts = { count: 0 };
  return { attempts, fetch: (input, init) => (attempts.count++, fetch(input, init)) };
}

/** A stand-in server answering from a script of responses, one per request, counting them. */
function standIn(answers: (() => Response)[]) {
  let served = 0;
  const server = Bun.serve({ port: 0, fetch: () => (answers[Math.min(served++, answers.length - 1)] ?? (() => new Response("{}")))() });
  return { url: `http://127.0.0.1:${server.port}`, served: () => served, stop: () => server.stop(true) };
}

const errorBody = (code: string) => JSON.stringify({ error: { code, message: code } });

describe("per-call retries and the Retry-After cap", () => {
  test("a call's maxRetries overrides the client's, both ways (503 from an API whose Redis is down)", async () => {
    const broken: Api = await startApi({ REDIS_URL: "redis://127.0.0.1:1/0" });
    try {
      const { token } = await client.applications.create({ name: "per-call retries" });
      const { fetch, attempts } = counting();
      const patient = new ChatClient({ baseUrl: broken.url, fetch }); // maxRetries 2 by default
      const once = await patient.chats(token).list({}, { maxRetries: 0 }).catch((e) => e);
      expect(once).toBeInstanceOf(ServiceUnavailableError);
      expect([once.status, once.retryAfter, attempts.count]).toEqual([503, 1, 1]);

      attempts.count = 0;
      const started = Date.now();
      const thrice = await patient.chats(token).list().catch((e) => e);
      expect(thrice).toBeInstanceOf(ServiceUnavailableError);
      expect(attempts.count).toBe(3);
      // Retry-After: 1 was honoured before each retry.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);

      attempts.count = 0;
      const impatient = new ChatClient({ baseUrl: broken.url, fetch, maxRetries: 0 });
      expect(await impatient.chats(token).get(1, { maxRetries: 1 }).catch((e) => e)).toBeInstanceOf(ServiceUnavailableError);
      expect(attempts.count).toBe(2);
    } finally {
      await broken.stop("SIGKILL");
    }
  }, 30_000);

  test("429 from the real API: maxRetries 0 throws at once; a Retry-After over the cap throws; the default waits it out", async () => {
    // 30 a minute: a burst of 30, then one every 2 s, so a refusal says Retry-After 1 or 2.
    const limited: Api = await startApi({ RATE_LIMIT_PER_MINUTE: "30" });
    try {
      const { token } = await client.applications.create({ name: "per-call 429" });
      const { fetch, attempts } = counting();
      const limitedClient = new ChatClient({ baseUrl: limited.url, fetch });
      let refused: unknown;
      let calls = 0;
      for (const deadline = Date.now() + 20_000; !refused && Date.now() < deadline; calls++) {
        refused = await limitedClient.applications.get(token, { maxRetries: 0 }).then(() => undefined, (e) => e);
      }
      expect(refused).toBeInstanceOf(RateLimitError);
      expect(attempts.count).toBe(calls);
      const retryAfter = (refused as RateLimitError).retryAfter!;
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);

      // The server asks for 1-2 s, more than this client accepts: thrown without waiting or retrying.
      attempts.count = 0;
      const capped = new ChatClient({ baseUrl: limited.url, fetch, maxRetryAfter: 0.5 });
      const started = Date.now();
      const overCap = await capped.applications.get(token).catch((e) => e);
      expect(overCap).toBeInstanceOf(RateLimitError);
      expect(attempts.count).toBe(1);
      expect(Date.now() - started).toBeLessThan(500);

      // The defaults (2 retries, cap 60 s) wait the Retry-After and get through.
      attempts.count = 0;
      const { data, response } = await limitedClient.applications.get(token).withResponse();
      expect(data.token).toBe(token);
      expect(response.status).toBe(200);
      expect(response.attempts).toBeGreaterThanOrEqual(2);
      expect(response.attempts).toBe(attempts.count);
    } finally {
      await limited.stop();
    }
  }, 30_000);

  test("a Retry-After longer than maxRetryAfter (default 60 s) is not waited for, in seconds or as a date", async () => {
    const later = new Date(Date.now() + 2 * 3600_000).toUTCString();
    const server = standIn([
      () => new Response(errorBody("service_unavailable"), { status: 503, headers: { "retry-after": "3600", "x-request-id": "stand-in-1" } }),
      () => new Response(errorBody("rate_limited"), { status: 429, headers: { "retry-after": later } }),
      () => new Response(errorBody("service_unavailable"), { status: 503, headers: { "retry-after": "1" } }),
      () => new Response(errorBody("service_unavailable"), { status: 503, headers: { "retry-after": "1" } }),
      () => new Response(JSON.stringify({ token: "t", name: "ok" }), { status: 200 }),
    ]);
    try {
      const patient = new ChatClient({ baseUrl: server.url, maxRetries: 5 });
      const started = Date.now();
      const unavailable = await patient.applications.get("t").catch((e) => e);
      expect(unavailable).toBeInstanceOf(ServiceUnavailableError);
      expect([unavailable.retryAfter, unavailable.requestId, unavailable.headers.get("retry-after")]).toEqual([3600, "stand-in-1", "3600"]);
      expect(server.served()).toBe(1);

      const limited = await patient.applications.get("t").catch((e) => e);
      expect(limited).toBeInstanceOf(RateLimitError);
      expect(limited.retryAfter).toBeGreaterThan(7000);
      expect(server.served()).toBe(2);
      expect(Date.now() - started).toBeLessThan(1000);

      // A call's maxRetryAfter overrides the client's: 0 accepts no wait at all.
      expect(await patient.applications.get("t", { maxRetryAfter: 0 }).catch((e) => e)).toBeInstanceOf(ServiceUnavailableError);
      expect(server.served()).toBe(3);
      // Under the cap, Retry-After is waited for and the call retried.
      const { data, response } = await patient.applications.get("t").withResponse();
      expect([data.name, response.status, response.attempts, server.served()]).toEqual(["ok", 200, 2, 5]);
    } finally {
      server.stop();
    }
  });
});

describe("raw responses", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test("withResponse on a create: status 201, Location, the x-request-id sent, attempts and the idempotency key", async () => {
    const call = client.applications.create({ name: "raw" }, { headers: { "x-request-id": "sdk-raw-app" } });
    expect(call).toBeInstanceOf(Promise);
    expect(call).toBeInstanceOf(ApiPromise);
    const { data: app, response } = await call.withResponse();
    expect(await call).toEqual(app);
    expect(response.status).toBe(201);
    expect(response.headers.get("location")).toBe(`/api/v1/applications/${app.token}`);
    expect(response.requestId).toBe("sdk-raw-app");
    expect(response.url).toBe(`${base}/api/v1/applications`);
    expect(response.attempts).toBe(1);
    expect(response.idempotencyKey).toMatch(uuid);

    const chats = client.chats(app.token);
    const first = await chats.create({ name: "general" }, { idempotencyKey: "raw-chat", headers: { "x-request-id": "sdk-raw-chat" } }).withResponse();
    expect([first.response.status, first.response.requestId, first.response.idempotencyKey]).toEqual([201, "sdk-raw-chat", "raw-chat"]);
    expect(first.response.headers.get("location")).toBe(`/api/v1/applications/${app.token}/chats/${first.data.number}`);
    expect(first.response.headers.get("idempotent-replayed")).toBeNull();
    const replay = await chats.create({ name: "general" }, { idempotencyKey: "raw-chat" }).withResponse();
    expect([replay.data.number, replay.response.status, replay.response.headers.get("idempotent-replayed")]).toEqual([first.data.number, 201, "true"]);

    const messages = client.messages(app.token, first.data.number);
    const sent = await messages.create({ body: "raw hello" }, { headers: { "x-request-id": "sdk-raw-message" } }).withResponse();
    expect([sent.data.body, sent.response.status, sent.response.requestId]).toEqual(["raw hello", 201, "sdk-raw-message"]);
    expect(sent.response.headers.get("location")).toBe(`/api/v1/applications/${app.token}/chats/${first.data.number}/messages/${sent.data.number}`);

    const read = await messages.get(sent.data.number).withResponse();
    expect([read.response.status, read.response.idempotencyKey, typeof read.response.requestId]).toEqual([200, undefined, "string"]);
    const removed = await messages.delete(sent.data.number).withResponse();
    expect([removed.data, removed.response.status]).toEqual([undefined, 204]);
  });

  test("every page exposes its own response; withResponse on list gives the first page's", async () => {
    const { token } = await client.applications.create({ name: "raw pages" });
    await client.chats(token).create();
    const messages = client.messages(token, 1);
    for (let i = 1; i <= 5; i++) await messages.create({ body: `m${i}` });
    const { data: page, response } = await messages.list({ limit: 2 }).withResponse();
    expect(page.response).toBe(response);
    expect(response.status).toBe(200);
    expect(response.url).toContain("limit=2");
    const second = (await page.nextPage())!;
    expect(second.response.status).toBe(200);
    expect(second.response.url).toContain(`cursor=${encodeURIComponent(page.next_cursor!)}`);
    expect(second.response.requestId).toBeString();
    expect(second.response.requestId).not.toBe(response.requestId);
    // A page still compares and serialises as the wire object.
    expect(JSON.parse(JSON.stringify(second))).toEqual({ data: second.data, next_cursor: second.next_cursor });
    expect({ ...second }).toEqual({ data: second.data, next_cursor: second.next_cursor });
    const hits = await messages.search("zzzz-nothing");
    expect([hits.data, hits.response.status]).toEqual([[], 200]);
  });

  test("a failed call rejects await and withResponse alike, with the response's headers; no unhandled rejection", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", listener);
    try {
      const { token } = await client.applications.create({ name: "raw errors" });
      const call = client.chats(token).get(99, { headers: { "x-request-id": "sdk-raw-404" } });
      const viaResponse = await call.withResponse().catch((e) => e);
      expect(viaResponse).toBeInstanceOf(NotFoundError);
      expect([viaResponse.requestId, viaResponse.headers.get("x-request-id")]).toEqual(["sdk-raw-404", "sdk-raw-404"]);
      expect(await call.catch((e) => e)).toBe(viaResponse);
      expect(await call.then(() => "resolved", () => "rejected")).toBe("rejected");
      let settled = false;
      await call.finally(() => (settled = true)).catch(() => {});
      expect(settled).toBe(true);
      // Only withResponse observed: nothing else may reject unobserved.
      await client.chats(token).get(98).withResponse().catch(() => {});
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", listener);
    }
  });
});

describe("live events", () => {
  test("subscribe yields created, updated and deleted; resumes after a dropped connection; ends on abort", async () => {
    const { token } = await client.applications.create({ name: "live sdk" });
    await client.chats(token).create();
    const messages = client.messages(token, 1);
    // A proxy that cuts the event stream once, after the first event, to force a reconnect.
    let cut = false;
    const flaky = proxy(async (_req, forward) => {
      const response = await forward();
      if (!response.body || cut || !response.headers.get("content-type")?.includes("event-stream")) return response;
      cut = true;
      const reader = response.body.getReader();
      let sawEvent = false;
      const stream = new ReadableStream({
        async pull(controller) {
          if (sawEvent) {
            // The connection ends after the first event, as when a proxy or the network drops it.
            await reader.cancel();
            return controller.close();
          }
          const { done, value } = await reader.read();
          if (done) return controller.close();
          controller.enqueue(value);
          if (new TextDecoder().decode(value).includes("event: ")) sawEvent = true;
        },
        cancel: () => reader.cancel(),
      });
      return new Response(stream, { headers: response.headers });
    });
    try {
      const controller = new AbortController();
      const events: { type: string; body: string; number: number }[] = [];
      const iterable = new ChatClient({ baseUrl: flaky.url }).messages(token, 1).subscribe({ signal: controller.signal });
      const done = (async () => {
        for await (const event of iterable) {
          events.push({ type: event.type, body: event.message.body, number: event.message.number });
          if (events.length === 4) controller.abort();
        }
      })();
      await Bun.sleep(300);
      await messages.create({ body: "one" });
      await Bun.sleep(300);
      await messages.create({ body: "two" });
      await messages.update(2, { body: "two, edited" });
      await messages.delete(1);
      await done;
      expect(events).toEqual([
        { type: "message.created", body: "one", number: 1 },
        { type: "message.created", body: "two", number: 2 },
        { type: "message.updated", body: "two, edited", number: 2 },
        { type: "message.deleted", body: "one", number: 1 },
      ]);
      expect(cut).toBe(true);
    } finally {
      flaky.stop();
    }
  });

  test("onOpen fires once the stream is live, and again after a reconnect", async () => {
    const { token } = await client.applications.create({ name: "live open" });
    await client.chats(token).create();
    const messages = client.messages(token, 1);
    // A proxy that ends the first event stream right after its first event.
    let streams = 0;
    const flaky = proxy(async (_req, forward) => {
      const response = await forward();
      if (!response.body || !response.headers.get("content-type")?.includes("event-stream") || streams++ > 0) return response;
      const reader = response.body.getReader();
      let sawEvent = false;
      return new Response(
        new ReadableStream({
          async pull(controller) {
            if (sawEvent) return void (await reader.cancel(), controller.close());
            const { done, value } = await reader.read();
            if (done) return controller.close();
            controller.enqueue(value);
            if (new TextDecoder().decode(value).includes("event: ")) sawEvent = true;
          },
          cancel: () => reader.cancel(),
        }),
        { headers: response.headers },
      );
    });
    try {
      const controller = new AbortController();
      let opens = 0;
      const bodies: string[] = [];
      // No sleep before posting: a message posted from onOpen is always yielded.
      const live = new ChatClient({ baseUrl: flaky.url }).messages(token, 1).subscribe({
        signal: controller.signal,
        onOpen: () => void messages.create({ body: `open ${++opens}` }),
      });
      for await (const event of live) {
        bodies.push(event.message.body);
        if (bodies.length === 2) controller.abort();
      }
      expect(bodies).toEqual(["open 1", "open 2"]);
      expect(opens).toBe(2);
    } finally {
      flaky.stop();
    }
  });

  test("subscribing to an unknown chat rejects with NotFoundError", async () => {
    const { token } = await client.applications.create({ name: "no chat" });
    const iterator = client.messages(token, 9).subscribe()[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(NotFoundError);
  });
});

afterAll(() => {});
