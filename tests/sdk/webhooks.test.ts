/** The SDK's webhooks: `client.webhooks(token)` against the real server, and `verifyWebhook` on real deliveries. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { ChatClient, NotFoundError, ValidationError, verifyWebhook, WebhookVerificationError, type WebhookEvent } from "../../sdk/src/index.ts";
import { eventually } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { webhookReceiver } from "../support/webhook-receiver.ts";

let client: ChatClient;
const receiver = webhookReceiver();
beforeAll(async () => {
  client = new ChatClient({ baseUrl: (await sharedStack()).apis[0]!.url });
});
afterAll(() => receiver.stop());

describe("client.webhooks(token)", () => {
  test("create, get, list (auto-paginated), delete; typed errors", async () => {
    const app = await client.applications.create({ name: "sdk webhooks" });
    const hooks = client.webhooks(app.token);
    const created = await hooks.create({ url: "https://example.com/a", events: ["message.created", "message.deleted"], description: "a" });
    expect(created.secret).toStartWith("whsec_");
    expect(created.events).toEqual(["message.created", "message.deleted"]);
    const { secret: _, ...shown } = created;
    expect(await hooks.get(created.id)).toEqual(shown);
    for (let i = 0; i < 3; i++) await hooks.create({ url: `https://example.com/${i}` });
    const ids: string[] = [];
    for await (const endpoint of await hooks.list({ limit: 2 })) ids.push(endpoint.id);
    expect(ids.length).toBe(4);
    expect(ids[0]).toBe(created.id);
    await hooks.delete(created.id);
    await expect(hooks.get(created.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(hooks.create({ url: "ftp://example.com/" })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("verifyWebhook", () => {
  test("returns the typed event of a real delivery; refuses a changed body, another secret, a stale timestamp", async () => {
    const app = await client.applications.create({ name: "sdk verify" });
    const { secret } = await client.webhooks(app.token).create({ url: receiver.url, events: ["message.created"] });
    const chat = await client.chats(app.token).create({ name: "c" });
    const message = await client.messages(app.token, chat.number).create({ body: "signed ✓" });
    const delivery = await eventually(async () => receiver.accepted.find((d) => d.body.includes("signed")), 30_000, "the message.created delivery");

    const event: WebhookEvent = await verifyWebhook(secret, new Headers(delivery.headers), delivery.body);
    expect(event.type).toBe("message.created");
    if (event.type !== "message.created") throw new Error("narrowing");
    expect(event.data).toEqual({ chat_number: chat.number, message });
    // A plain header object and a byte body work too.
    expect(await verifyWebhook(secret, delivery.headers, new TextEncoder().encode(delivery.body))).toEqual(event);

    const refused = async (promise: Promise<unknown>, what: RegExp) => {
      const error = await promise.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(WebhookVerificationError);
      expect(String((error as Error).message)).toMatch(what);
    };
    await refused(verifyWebhook(secret, delivery.headers, delivery.body.replace("signed", "Signed")), /signature/);
    const other = await client.webhooks(app.token).create({ url: "https://example.com/other" });
    await refused(verifyWebhook(other.secret, delivery.headers, delivery.body), /signature/);
    const sent = Number(delivery.headers["webhook-timestamp"]) * 1000;
    await refused(verifyWebhook(secret, delivery.headers, delivery.body, { now: sent + 301_000 }), /300 seconds/);
    await refused(verifyWebhook(secret, delivery.headers, delivery.body, { now: sent - 301_000 }), /300 seconds/);
    await refused(verifyWebhook(secret, { ...delivery.headers, "webhook-signature": undefined }, delivery.body), /missing/);
  });

  test("accepts what the standardwebhooks package signs, among several signatures", async () => {
    const secret = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
    const body = JSON.stringify({ type: "chat.created", timestamp: new Date().toISOString(), data: { chat: { number: 1, name: null, messages_count: 0, created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-01T00:00:00.000Z" } } });
    const now = new Date();
    const signature = new Webhook(secret).sign("msg_1", now, body);
    const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": `v1,bm90IGl0 ${signature}` };
    expect((await verifyWebhook(secret, headers, body)).type).toBe("chat.created");
  });
});
