/** SPEC §6.6: the logger masks tokens, keys, secrets and data, whatever a caller hands it. */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { errors as esErrors } from "@elastic/elasticsearch";
import { ReplyError } from "ioredis";
import { join } from "node:path";
import { keysFor } from "../../core/keys.ts";
import { createLogger, formatLine, MAX_STRING, redact, redactPath, registerSecret, sanitizeFields, serializeError } from "../../core/log.ts";
import { newToken } from "../../server/common/params.ts";

const token = "AbCdEfGhIjKlMnOpQrStUvWxYz012-_9";
const body = "secret-body-7f3a a message nobody may read";

describe("redact", () => {
  test("application paths, whatever follows /applications/", () => {
    expect(redact(`/api/v1/applications/${token}/chats/1/messages`)).toBe("/api/v1/applications/***/chats/1/messages");
    expect(redact("/api/v1/applications/not-a-token/chats")).toBe("/api/v1/applications/***/chats");
    expect(redact("/api/v1/APPLICATIONS/typo")).toBe("/api/v1/APPLICATIONS/***");
    expect(redact("/api/v1/applications")).toBe("/api/v1/applications");
    expect(redact("/api/v1/applications/")).toBe("/api/v1/applications/");
    expect(redactPath(`/api/v1/applications/${token}/chats/1`)).toBe("/api/v1/applications/***/chats/1");
  });

  test("every Redis key and channel that embeds a token", () => {
    const keys = keysFor(4);
    const all = [
      keys.app(token), keys.chat(token, 3), keys.pending(token, 1), keys.pendingChats(token), keys.idempotency(token, "k1"),
      keys.rateLimit(token), keys.channel(token, 2), keys.eventLog(token, 2),
    ];
    for (const key of all) {
      const out = redact(`failed on ${key} now`);
      expect(out).not.toContain(token);
      expect(out).toMatch(/\{s\d\}:\*\*\*/);
    }
    expect(redact(keys.chat(token, 3))).toMatch(/^chat:\{s\d\}:\*\*\*:3$/);
    // Names that hold no token stay readable.
    expect(redact("stream:{s2}")).toBe("stream:{s2}");
    expect(redact(keys.deadLetter)).toBe(keys.deadLetter);
  });

  test("a bare token anywhere, and every generated token", () => {
    expect(redact(`token ${token}.`)).toBe("token ***.");
    for (let i = 0; i < 200; i++) {
      const t = newToken();
      expect(redact(`x ${t} y`)).toBe("x *** y");
    }
    // Runs of other lengths (stream ids, uuids, index names) are kept.
    for (const kept of ["1712345678901-0", crypto.randomUUID(), "messages_test_v1", "a".repeat(33)]) expect(redact(kept)).toBe(kept);
  });

  test("webhook secrets, bearer credentials, URL credentials, registered secrets, query values", () => {
    expect(redact("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+x/y=")).toBe("whsec_***");
    expect(redact("authorization: Bearer my-admin-key")).toBe("authorization: Bearer ***");
    expect(redact("Basic dXNlcjpwYXNz")).toBe("Basic ***");
    expect(redact("mysql://chat:hunter2@127.0.0.1:3306/chat")).toBe("mysql://***@127.0.0.1:3306/chat");
    expect(redact("redis://:pw@host:6379/0")).toBe("redis://***@host:6379/0");
    registerSecret("  k3y-registered-for-the-test  ");
    expect(redact("key=k3y-registered-for-the-test;")).toBe("key=***;");
    expect(redact("/api/v1/applications/x/chats/1/messages/search?q=hello&limit=5")).toBe("/api/v1/applications/***/chats/1/messages/search?q=***&limit=***");
  });

  test("quoted data is masked to the end, even unbalanced or cut", () => {
    expect(redact(`Duplicate entry '${body}' for key 'PRIMARY'`)).toBe("Duplicate entry '***");
    // MySQL does not escape a quote inside the value it quotes.
    expect(redact("Duplicate entry 'it's secret-body-x' for key 'PRIMARY'")).toBe("Duplicate entry '***");
    expect(redact("Incorrect string value: '\\xF0\\x9F\\x98\\x80secret' for column `chat`.`messages`.`body` at row 1")).toBe("Incorrect string value: '***");
    expect(redact(`unknown event type "${body}" in 1-0`)).toBe('unknown event type "***');
    expect(redact(`Preview of field's value: '${body.slice(0, 10)}`)).toBe("Preview of field's value: '***");
    expect(redact("Can't connect to MySQL server on '127.0.0.1' (111)")).toBe("Can't connect to MySQL server on '***");
    expect(redact("Connection is closed.")).toBe("Connection is closed.");
  });

  test("long text is capped", () => {
    const out = redact("x".repeat(MAX_STRING * 3));
    expect(out.length).toBeLessThan(MAX_STRING + 30);
    expect(out).toEndWith(`[${MAX_STRING * 2} more]`);
    expect(redact("abcdef", 3)).toBe("abc…[3 more]");
  });
});

describe("errors", () => {
  test("mysql2: code and errno, never sql or sqlMessage or the quoted value", () => {
    const error = Object.assign(new Error(`Duplicate entry '${body}' for key 'PRIMARY'`), {
      code: "ER_DUP_ENTRY", errno: 1062, sqlState: "23000", sqlMessage: `Duplicate entry '${body}' for key 'PRIMARY'`,
      sql: `INSERT INTO messages (body) VALUES ('${body}')`,
    });
    const out = serializeError(error);
    expect(out).toEqual({ name: "Error", code: "ER_DUP_ENTRY", errno: 1062, message: "Duplicate entry '***" });
    expect(JSON.stringify(sanitizeFields({ err: error }))).not.toContain("secret-body");
  });

  test("ioredis: the failed command and its arguments are dropped", () => {
    const error = new ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value");
    error.command = { name: "evalsha", args: ["abc", 9, keysFor(4).app(token), keysFor(4).pending(token, 1), token, "1", body] };
    const text = JSON.stringify(sanitizeFields({ err: error }));
    expect(text).not.toContain(token);
    expect(text).not.toContain("secret-body");
    expect(text).not.toContain("evalsha");
    expect(JSON.parse(text).err).toEqual({ name: "ReplyError", message: "WRONGTYPE Operation against a key holding the wrong kind of value" });
  });

  test("Elasticsearch: status only, never meta (request and response bodies)", () => {
    const error = new esErrors.ResponseError({
      body: { error: { type: "mapper_parsing_exception", reason: `failed to parse field [created_at] in document with id '1'. Preview of field's value: '${body}'` }, status: 400 },
      statusCode: 400,
      headers: {},
      warnings: null,
      meta: { context: null, name: "es", request: { params: { method: "POST", path: "/_bulk", body: JSON.stringify({ body }) }, options: {}, id: 1 }, connection: null, attempts: 0, aborted: false },
    } as never);
    const out = sanitizeFields({ err: error }).err as Record<string, unknown>;
    expect(out.name).toBe("ResponseError");
    expect(out.status).toBe(400);
    expect(out.meta).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain("secret-body");
  });

  test("stack frames at level error only, cause kept safely", () => {
    const error = new Error(`outer '${body}'`, { cause: Object.assign(new Error(`inner "${body}"`), { code: "ECONNREFUSED", sql: body }) });
    const withStack = serializeError(error, true);
    expect(Array.isArray(withStack.stack)).toBe(true);
    expect((withStack.stack as string[])[0]).toStartWith("at ");
    expect(withStack.cause).toEqual({ name: "Error", code: "ECONNREFUSED", message: 'inner "***' });
    expect(serializeError(error).stack).toBeUndefined();
    expect(JSON.stringify(withStack)).not.toContain("secret-body");
  });
});

describe("fields", () => {
  test("content and credential fields are dropped; nested values, keys, arrays and odd values are made safe", () => {
    const circular: Record<string, unknown> = { name: "c" };
    circular.self = circular;
    const out = sanitizeFields({
      body, text: body, headers: { authorization: `Bearer ${token}` }, adminApiKey: "k", token, webhookSecret: "whsec_x",
      nested: { path: `/applications/${token}/chats`, list: [keysFor(2).chat(token, 1), 7, null, 10n] },
      [`chat:{s1}:${token}:3`]: "by key",
      when: new Date(0),
      buffer: new Uint8Array(4),
      map: new Map([[token, body]]),
      fn: () => body,
      circular,
      deep: { a: { b: { c: { d: { e: body } } } } },
      many: Array.from({ length: 60 }, (_, i) => i),
      status: 503,
      ok: true,
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain(token);
    expect(text).not.toContain("secret-body");
    expect(out).toMatchObject({
      body: "[redacted]", text: "[redacted]", headers: "[redacted]", adminApiKey: "[redacted]", token: "[redacted]", webhookSecret: "[redacted]",
      nested: { path: "/applications/***/chats", list: [expect.stringMatching(/^chat:\{s\d\}:\*\*\*:1$/), 7, null, "10"] },
      when: "1970-01-01T00:00:00.000Z", buffer: "[4 bytes]", map: "[Map]", circular: { name: "c", self: "[circular]" }, status: 503, ok: true,
    });
    expect(out.fn).toBeUndefined();
    expect(Object.keys(out)).toContain("chat:{s1}:***:3");
    expect((out.many as unknown[]).length).toBe(51);
  });

  test("formatLine: one JSON object, message redacted too, never throws", () => {
    const line = JSON.parse(formatLine("warn", `failed for /applications/${token}`, { err: new Error(`'${body}'`) }, { service: "t" }));
    expect(line).toMatchObject({ level: "warn", msg: "failed for /applications/***", service: "t", err: { name: "Error", message: "'***" } });
    const hostile = { get boom() { throw new Error("getter"); } };
    expect(() => JSON.parse(formatLine("info", "x", hostile))).not.toThrow();
  });

  describe("createLogger", () => {
    let spy: ReturnType<typeof spyOn> | undefined;
    afterEach(() => spy?.mockRestore());

    test("writes redacted lines at or above its level; child fields are redacted as well", () => {
      const lines: string[] = [];
      spy = spyOn(process.stdout, "write").mockImplementation(((chunk: string) => (lines.push(String(chunk)), true)) as never);
      const previous = process.env.ADMIN_API_KEY;
      process.env.ADMIN_API_KEY = "the-admin-key-under-test";
      try {
        const log = createLogger("info", { service: "api" }).child({ path: `/api/v1/applications/${token}` });
        log.debug("hidden", { body });
        log.warn("dependency unavailable", { err: Object.assign(new Error("x"), { sql: body }), note: "Bearer the-admin-key-under-test" });
        log.error("uses the key the-admin-key-under-test");
      } finally {
        if (previous === undefined) delete process.env.ADMIN_API_KEY;
        else process.env.ADMIN_API_KEY = previous;
      }
      spy.mockRestore();
      expect(lines.length).toBe(2);
      const text = lines.join("");
      for (const secret of [token, "secret-body", "the-admin-key-under-test"]) expect(text).not.toContain(secret);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: "warn", service: "api", path: "/api/v1/applications/***", err: { message: "x" }, note: "Bearer ***" });
      expect(JSON.parse(lines[1]!).msg).toBe("uses the key ***");
    });
  });
});

test("a crash is logged through the logger (no SQL, no arguments) and the process still exits 1", async () => {
  const script = `
    import { createLogger, exitOnCrash } from ${JSON.stringify(join(import.meta.dir, "../../core/log.ts"))};
    exitOnCrash(createLogger("info", { service: "crash" }));
    Promise.reject(Object.assign(new Error("Duplicate entry '${body}'"), { sql: "INSERT ${body}", command: { args: ["${token}"] } }));
  `;
  const proc = Bun.spawn(["bun", "-e", script], { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect(code).toBe(1);
  expect(err).toBe("");
  const line = JSON.parse(out.trim());
  expect(line).toMatchObject({ level: "error", msg: "unhandled rejection", service: "crash", err: { message: "Duplicate entry '***" } });
  expect(out).not.toContain("secret-body");
  expect(out).not.toContain(token);
});
