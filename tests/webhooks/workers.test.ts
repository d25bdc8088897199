/**
 * Webhook deliveries across worker deaths (SPEC §5.7, §6.1): a worker SIGKILLed with deliveries in
 * flight loses none of them (another worker sends them when their lease ends), and a retry that
 * falls due is sent by whichever worker is alive, not only by the one whose attempt failed. The
 * shared workers are paused meanwhile, so the workers started here are the only ones delivering.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, eventually } from "../support/http.ts";
import { sharedStack, startWorker, type Proc } from "../support/processes.ts";
import { webhookReceiver } from "../support/webhook-receiver.ts";

const stack = await sharedStack();
const base = stack.apis[0]!.url;
const started: Proc[] = [];
const worker = (name: string, env: Record<string, string> = {}) => {
  // A short timeout makes the lease short (timeout + 5 s): a dead worker's deliveries are due again soon.
  const proc = startWorker({ WORKER_NAME: name, WEBHOOK_TIMEOUT_MS: "3000", ...env });
  started.push(proc);
  return proc;
};

beforeAll(() => stack.pauseWorkers("mysql", "webhooks"));
afterAll(async () => {
  for (const proc of started) await proc.stop("SIGKILL").catch(() => {});
  stack.resumeWorkers();
});

async function appWithEndpoint(url: string) {
  const token = (await call(base, "POST", "/applications", { name: "webhook workers" })).json.token as string;
  const res = await call(base, "POST", `/applications/${token}/webhooks`, { url, events: ["message.created"] });
  if (res.status !== 201) throw new Error(res.text);
  await call(base, "POST", `/applications/${token}/chats`, {});
  return token;
}

describe("webhook deliveries and worker deaths", () => {
  test("kill -9 of a worker with deliveries in flight loses none", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Answers nothing until the worker is dead, then 204 to everything.
    const slow = webhookReceiver(async () => {
      await held;
      return new Response(null, { status: 204 });
    });
    try {
      const token = await appWithEndpoint(slow.url);
      const first = worker("webhooks-victim");
      for (let i = 1; i <= 12; i++) await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: `kill ${i}` });
      await eventually(async () => (slow.open() >= 2 ? true : undefined), 30_000, "deliveries in flight at the receiver");
      await first.stop("SIGKILL");
      release();
      const second = worker("webhooks-survivor");
      const ids = await eventually(async () => {
        const bodies = new Set(slow.accepted.map((d) => (JSON.parse(d.body) as { data: { message: { body: string } } }).data.message.body));
        return bodies.size >= 12 ? bodies : undefined;
      }, 60_000, "all 12 messages delivered by the second worker");
      expect([...ids].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `kill ${i + 1}`).sort());
      // What was in flight at the kill was sent again: at least once, never lost.
      expect(slow.requests.length).toBeGreaterThan(12);
      await second.stop();
    } finally {
      slow.stop();
    }
  });

  test("a due retry is sent by another worker than the one whose attempt failed", async () => {
    const flaky = webhookReceiver((n) => new Response(null, { status: n === 1 ? 500 : 204 }));
    try {
      const token = await appWithEndpoint(flaky.url);
      // Its retry falls due 4 s after the failure: long after this worker has stopped.
      const first = worker("webhooks-first", { WEBHOOK_RETRY_SCHEDULE: "4" });
      await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: "retry elsewhere" });
      await eventually(async () => (flaky.requests.length >= 1 ? true : undefined), 30_000, "the first attempt");
      // The failed attempt is settled (queued for its retry) before the worker stops cleanly.
      expect(await first.stop("SIGTERM")).toBe(0);
      expect(flaky.accepted).toEqual([]);
      const second = worker("webhooks-second");
      await eventually(async () => (flaky.accepted.length ? true : undefined), 30_000, "the retry, sent by the second worker");
      expect(new Set(flaky.requests.map((d) => d.headers["webhook-id"])).size).toBe(1);
      await second.stop();
    } finally {
      flaky.stop();
    }
  });
});
