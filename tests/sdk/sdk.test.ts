import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  ApiError,
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

  test("subscribing to an unknown chat rejects with NotFoundError", async () => {
    const { token } = await client.applications.create({ name: "no chat" });
    const iterator = client.messages(token, 9).subscribe()[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toBeInstanceOf(NotFoundError);
  });
});

afterAll(() => {});
