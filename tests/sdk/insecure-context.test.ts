/**
 * The SDK in a page served over plain HTTP, where browsers leave `crypto.randomUUID` undefined (it
 * exists only in secure contexts): creates still carry a fresh Idempotency-Key, and errors carry the
 * request id the server answered with.
 */
import { beforeAll, expect, test } from "bun:test";
import { ChatClient, NotFoundError, ValidationError } from "../../sdk/src/index.ts";
import { sharedStack } from "../support/processes.ts";

let base: string;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
});

/** Runs `fn` with `crypto.randomUUID` undefined (shadowed by an own property, removed afterwards). */
async function withoutRandomUUID<T>(fn: () => Promise<T>): Promise<T> {
  Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true, writable: true });
  try {
    expect(crypto.randomUUID).toBeUndefined();
    return await fn();
  } finally {
    delete (crypto as { randomUUID?: unknown }).randomUUID;
    expect(typeof crypto.randomUUID).toBe("function");
  }
}

test("without crypto.randomUUID, POSTs carry fresh idempotency keys and errors their request id", async () => {
  const keys: string[] = [];
  const answered: string[] = [];
  const client = new ChatClient({
    baseUrl: base,
    fetch: async (input, init) => {
      const key = new Headers(init?.headers).get("idempotency-key");
      if (key) keys.push(key);
      const res = await fetch(input, init);
      answered.push(res.headers.get("x-request-id") ?? "");
      return res;
    },
  });

  await withoutRandomUUID(async () => {
    const app = await client.applications.create({ name: "insecure context" });
    const chat = await client.chats(app.token).create({ name: "room" });
    const message = await client.messages(app.token, chat.number).create({ body: "hello" });
    expect(message.body).toBe("hello");

    expect(keys.length).toBe(3);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(keys).size).toBe(3);

    const missing = await client.messages(app.token, chat.number).get(999).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).requestId).toBe(answered.at(-1)!);
    expect((missing as NotFoundError).requestId).toMatch(/^[\x21-\x7e]{1,200}$/);

    const invalid = await client.messages(app.token, chat.number).create({ body: "" }, { headers: { "x-request-id": "my-trace-1" } }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).requestId).toBe("my-trace-1");
  });
});
