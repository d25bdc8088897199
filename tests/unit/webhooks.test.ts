/** Pure parts of the webhooks: the address guard, the signature and the payloads. */
import { describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { assertPublicUrl, isBlockedAddress, parseWebhookUrl, UnsafeUrlError } from "../../core/webhooks/url-guard.ts";
import { signatureHeaders } from "../../worker/webhooks/signature.ts";
import { chatPayload, messagePayload, webhookId } from "../../worker/webhooks/payload.ts";
import { WEBHOOK_EVENT_TYPES } from "../../core/webhooks/registry.ts";
import { WebhookEventType } from "../../server/features/webhooks/model.ts";

describe("webhook address guard", () => {
  test("blocks loopback, private, link-local, shared, reserved and metadata addresses in both families", () => {
    const blocked = ["127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1",
      "::1", "::", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1", "64:ff9b::7f00:1", "2001:db8::1", "fe80::1%eth0", "not an ip"];
    const allowed = ["93.184.215.14", "8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:8.8.8.8"];
    expect(blocked.filter((ip) => !isBlockedAddress(ip))).toEqual([]);
    expect(allowed.filter(isBlockedAddress)).toEqual([]);
  });

  test("URL form: http(s) only, no credentials, at most 2,048 characters", () => {
    for (const bad of ["ftp://x.example/", "javascript:alert(1)", "http://u:p@x.example/", "//x.example", `https://x.example/${"a".repeat(2040)}`]) {
      expect(() => parseWebhookUrl(bad)).toThrow(UnsafeUrlError);
    }
    expect(parseWebhookUrl("https://x.example:8443/a?b=c").port).toBe("8443");
  });

  test("a host is judged by every address it resolves to", async () => {
    const resolveTo = (...addresses: string[]) => (async () => addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))) as never;
    await expect(assertPublicUrl(new URL("https://mixed.example/"), false, resolveTo("93.184.215.14", "10.0.0.1"))).rejects.toThrow(/10\.0\.0\.1/);
    await expect(assertPublicUrl(new URL("https://public.example/"), false, resolveTo("93.184.215.14"))).resolves.toBeUndefined();
    await expect(assertPublicUrl(new URL("https://nowhere.example/"), false, resolveTo())).rejects.toThrow(/does not resolve/);
    await expect(assertPublicUrl(new URL("http://127.0.0.1/"), true)).resolves.toBeUndefined();
  });
});

describe("webhook signature and payloads", () => {
  test("the standardwebhooks package verifies what the worker signs", () => {
    const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
    const body = messagePayload({ type: "message.created", id: "1-0", stream: "s", appId: 1, token: "t", chat: 2, number: 3, body: "ünïcödé \n 🎉", version: 1, createdAt: 0, updatedAt: 0, deletedAt: null });
    const headers = signatureHeaders(secret, "msg_0_1-0", body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body + " ", headers)).toThrow();
  });

  test("payload shapes and webhook ids", () => {
    const base = { id: "5-1", stream: "s", appId: 1, token: "t", chat: 4, version: 3, createdAt: 1000, updatedAt: 2000 };
    expect(JSON.parse(chatPayload({ ...base, type: "chat.deleted", name: null, deletedAt: 3000 }, 7))).toEqual({
      type: "chat.deleted",
      timestamp: new Date(3000).toISOString(),
      data: { chat: { number: 4, name: null, messages_count: 7, created_at: new Date(1000).toISOString(), updated_at: new Date(2000).toISOString() } },
    });
    expect(JSON.parse(messagePayload({ ...base, type: "message.updated", number: 9, body: "b", deletedAt: null }))).toEqual({
      type: "message.updated",
      timestamp: new Date(2000).toISOString(),
      data: { chat_number: 4, message: { number: 9, chat_number: 4, body: "b", created_at: new Date(1000).toISOString(), updated_at: new Date(2000).toISOString() } },
    });
    expect(webhookId(3, "1700000000000-2")).toBe("msg_3_1700000000000-2");
  });

  test("the API's event type schema lists exactly the delivered types", () => {
    expect(WebhookEventType.anyOf.map((s: { const: string }) => s.const)).toEqual([...WEBHOOK_EVENT_TYPES]);
  });
});
