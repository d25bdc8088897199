/**
 * Webhook deliveries (SPEC §5.7) to real receivers on loopback: every event type, signed so that the
 * `standardwebhooks` package verifies it; retries with the same webhook-id until a receiver recovers;
 * dead-lettering after WEBHOOK_RETRY_SCHEDULE (tests: 1,1,1) and replay with `cli dlq`; no
 * redirects followed; a hanging endpoint holds no other endpoint, application or sink.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { call, eventually } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { appId, drained, rows } from "../support/stack.ts";
import { webhookReceiver, type Delivery } from "../support/webhook-receiver.ts";

const [base, other] = (await sharedStack()).apis.map((api) => api.url) as [string, string];
const receivers: { stop: () => void }[] = [];
afterAll(() => receivers.forEach((r) => r.stop()));
const receiver = (...args: Parameters<typeof webhookReceiver>) => {
  const r = webhookReceiver(...args);
  receivers.push(r);
  return r;
};

async function newApp() {
  return (await call(base, "POST", "/applications", { name: "deliveries" })).json.token as string;
}
async function subscribe(token: string, url: string, events?: string[]) {
  const res = await call(base, "POST", `/applications/${token}/webhooks`, { url, ...(events ? { events } : {}) });
  if (res.status !== 201) throw new Error(`endpoint not created: ${res.text}`);
  return res.json as { id: string; secret: string };
}
const verify = (secret: string, d: Delivery) => new Webhook(secret).verify(d.body, d.headers) as { type: string; timestamp: string; data: any };

async function cli(...args: string[]) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "../../scripts/cli.ts"), ...args], { stdout: "pipe", stderr: "pipe", env: process.env });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

describe("webhook deliveries", () => {
  test("every event type reaches each subscribed endpoint, signed per Standard Webhooks", async () => {
    const token = await newApp();
    const all = receiver();
    const some = receiver();
    const allEndpoint = await subscribe(token, all.url);
    const someEndpoint = await subscribe(token, some.url, ["message.created"]);

    const chat = (await call(base, "POST", `/applications/${token}/chats`, { name: "general" })).json;
    const message = (await call(other, "POST", `/applications/${token}/chats/1/messages`, { body: "héllo 👋\nworld" })).json;
    await call(base, "PATCH", `/applications/${token}/chats/1/messages/1`, { body: "edited" });
    await call(other, "DELETE", `/applications/${token}/chats/1/messages/1`);
    await call(base, "PATCH", `/applications/${token}/chats/1`, { name: "renamed" });
    await call(other, "DELETE", `/applications/${token}/chats/1`);

    const types = ["chat.created", "message.created", "message.updated", "message.deleted", "chat.updated", "chat.deleted"];
    await eventually(async () => (all.acceptedIds().size >= 6 ? true : undefined), 30_000, "six events delivered to the endpoint subscribed to all");
    await eventually(async () => (some.acceptedIds().size >= 1 ? true : undefined), 30_000, "message.created delivered to the endpoint subscribed to it");

    const byType = new Map<string, { id: string; event: ReturnType<typeof verify>; headers: Record<string, string> }>();
    for (const d of all.accepted) {
      const event = verify(allEndpoint.secret, d);
      expect(d.headers["content-type"]).toBe("application/json");
      expect(d.headers["webhook-id"]).toMatch(/^msg_/);
      expect(Math.abs(Number(d.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(300);
      byType.set(event.type, { id: d.headers["webhook-id"]!, event, headers: d.headers });
    }
    expect([...byType.keys()].sort()).toEqual([...types].sort());
    expect(new Set([...byType.values()].map((v) => v.id)).size).toBe(6);

    const created = byType.get("message.created")!.event;
    expect(created.data).toEqual({ chat_number: 1, message });
    expect(Date.parse(created.timestamp)).toBeGreaterThan(0);
    expect(byType.get("message.updated")!.event.data.message).toMatchObject({ number: 1, chat_number: 1, body: "edited" });
    expect(byType.get("message.deleted")!.event.data.message).toMatchObject({ number: 1, body: "edited" });
    expect(byType.get("chat.created")!.event.data).toEqual({ chat });
    expect(byType.get("chat.updated")!.event.data.chat).toMatchObject({ number: 1, name: "renamed" });
    expect(byType.get("chat.deleted")!.event.data.chat).toMatchObject({ number: 1, name: "renamed" });
    expect(Object.keys(byType.get("chat.deleted")!.event.data.chat).sort()).toEqual(["created_at", "messages_count", "name", "number", "updated_at"]);

    // The filtered endpoint got message.created only, with the same webhook-id, under its own secret.
    const [only, ...more] = some.accepted;
    expect(more).toEqual([]);
    expect(verify(someEndpoint.secret, only!).type).toBe("message.created");
    expect(only!.headers["webhook-id"]).toBe(byType.get("message.created")!.id);
    // The verifier is not a rubber stamp: another secret, or one changed byte, is refused.
    expect(() => verify(someEndpoint.secret, all.accepted[0]!)).toThrow();
    expect(() => verify(allEndpoint.secret, { ...all.accepted[0]!, body: all.accepted[0]!.body.replace("}", " }") })).toThrow();
  });

  test("a failing endpoint is retried with the same webhook-id until it recovers; redirects are not followed", async () => {
    const token = await newApp();
    const target = receiver();
    const flaky = receiver((n) => (n <= 2 ? new Response("down", { status: n === 1 ? 500 : 503 }) : new Response(null, { status: 200 })));
    const redirecting = receiver(() => new Response(null, { status: 307, headers: { location: target.url } }));
    const flakyEndpoint = await subscribe(token, flaky.url, ["chat.created"]);
    await subscribe(token, redirecting.url, ["chat.created"]);
    await call(base, "POST", `/applications/${token}/chats`, { name: "retry me" });

    await eventually(async () => (flaky.accepted.length ? true : undefined), 30_000, "the flaky endpoint's third attempt, answered 200");
    expect(flaky.requests.length).toBe(3);
    expect(new Set(flaky.requests.map((d) => d.headers["webhook-id"])).size).toBe(1);
    for (const d of flaky.requests) expect(verify(flakyEndpoint.secret, d).type).toBe("chat.created");
    // Retried after the schedule's first second, not at once.
    expect(flaky.requests[1]!.at - flaky.requests[0]!.at).toBeGreaterThan(900);

    await eventually(async () => (redirecting.requests.length >= 2 ? true : undefined), 30_000, "the redirecting endpoint tried again");
    expect(target.requests).toEqual([]);
  });

  test("dead-lettered after the schedule, listed and replayed by `cli dlq`", async () => {
    const token = await newApp();
    let healthy = false;
    const failing = receiver(() => new Response(null, { status: healthy ? 204 : 500 }));
    const endpoint = await subscribe(token, failing.url, ["chat.created"]);
    await call(base, "POST", `/applications/${token}/chats`, { name: "doomed" });

    // The first attempt and one per entry of WEBHOOK_RETRY_SCHEDULE (1,1,1), then the dead-letter stream.
    const line = await eventually(async () => {
      const { stdout } = await cli("dlq", "list", "--limit", "1000");
      return stdout.split("\n").find((l) => l.includes(endpoint.id));
    }, 30_000, "the delivery in `cli dlq list`");
    expect(failing.requests.length).toBe(4);
    expect(line).toContain("webhooks");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(Number(/webhook_deliveries_total\{outcome="dead_lettered"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

    healthy = true;
    const replay = await cli("dlq", "replay", line!.split(/\s+/)[0]!);
    expect(replay.code).toBe(0);
    await eventually(async () => (failing.accepted.length ? true : undefined), 30_000, "the replayed delivery, answered 204");
    expect(new Set(failing.requests.map((d) => d.headers["webhook-id"])).size).toBe(1);
    expect(verify(endpoint.secret, failing.accepted[0]!).data.chat.name).toBe("doomed");
  });

  test("a hanging endpoint holds no other endpoint, application or sink", async () => {
    const hanging = receiver(() => new Promise<Response>(() => {}));
    const healthy = receiver();
    const elsewhere = receiver();
    const [first, second] = [await newApp(), await newApp()];
    await subscribe(first, hanging.url);
    await subscribe(first, healthy.url);
    await subscribe(second, elsewhere.url);
    await call(base, "POST", `/applications/${first}/chats`, { name: "one" });
    await call(base, "POST", `/applications/${second}/chats`, { name: "two" });
    const sent = performance.now();
    const posted = new Map([[first, 0], [second, 0]]);
    for (let i = 1; i <= 20; i++) {
      const token = i % 3 ? first : second;
      await call(i % 2 ? base : other, "POST", `/applications/${token}/chats/1/messages`, { body: `message ${i}` });
      posted.set(token, posted.get(token)! + 1);
    }

    // Each application's chat and its messages.
    const [wantFirst, wantSecond] = [1 + posted.get(first)!, 1 + posted.get(second)!];
    await eventually(async () => (healthy.acceptedIds().size >= wantFirst && elsewhere.acceptedIds().size >= wantSecond ? true : undefined), 30_000, "every delivery to the two healthy endpoints");
    const latest = Math.max(...[...healthy.accepted, ...elsewhere.accepted].map((d) => d.at)) - sent;
    // The hanging endpoint has been sent deliveries and has answered none of them (its timeout is 10 s).
    expect(hanging.requests.length).toBeGreaterThan(0);
    expect(hanging.accepted).toEqual([]);
    expect(hanging.open()).toBeGreaterThan(0);
    // Nor does it hold the MySQL sink.
    await drained("mysql");
    const [row] = await rows("SELECT COUNT(*) AS n FROM messages WHERE application_id = ?", [await appId(first)]);
    expect(Number(row!.n)).toBe(posted.get(first)!);
    expect(hanging.accepted).toEqual([]);
    console.log(`webhooks isolation: ${wantFirst + wantSecond} deliveries to healthy endpoints done ${latest.toFixed(0)} ms after the first message was sent, while another endpoint hung`);
  });
});
