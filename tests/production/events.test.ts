import { describe, expect, test } from "bun:test";
import { call } from "../support/http.ts";
import { sharedStack, startApi } from "../support/processes.ts";

// Two API processes and a worker, shared by the test files of one run.
const [base, other] = (await sharedStack()).apis.map((api) => api.url) as [string, string];

type Sse = { id?: string; event?: string; data?: string; comment?: string; at: number };

/** Opens an event stream and collects its frames (and comments) until aborted. */
function open(url: string, headers: Record<string, string> = {}) {
  const frames: Sse[] = [];
  const controller = new AbortController();
  let status = 0;
  const done = (async () => {
    const res = await fetch(url, { headers, signal: controller.signal });
    status = res.status;
    if (!res.ok || !res.body) return;
    let buffer = "";
    try {
      for await (const chunk of res.body) {
        buffer += new TextDecoder().decode(chunk);
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: Sse = { at: performance.now() };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) frame.comment = line.slice(1).trim();
            else if (line.startsWith("id: ")) frame.id = line.slice(4);
            else if (line.startsWith("event: ")) frame.event = line.slice(7);
            else if (line.startsWith("data: ")) frame.data = line.slice(6);
          }
          frames.push(frame);
        }
      }
    } catch {}
  })();
  return { frames, events: () => frames.filter((f) => f.event), close: () => controller.abort(), done, status: () => status };
}

async function until<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = check();
    if (value !== undefined) return value;
    await Bun.sleep(5);
  }
  throw new Error("timed out");
}

async function newChat() {
  const token = (await call(base, "POST", "/applications", { name: "live" })).json.token;
  await call(base, "POST", `/applications/${token}/chats`, {});
  return { token, path: `/applications/${token}/chats/1` };
}

describe("live events", () => {
  test("created, updated and deleted reach subscribers on every API process within 100 ms", async () => {
    const { path } = await newChat();
    const a = open(`${base}/api/v1${path}/events`);
    const b = open(`${other}/api/v1${path}/events`);
    await until(() => (a.frames.length && b.frames.length ? true : undefined));
    const created = await call(other, "POST", `${path}/messages`, { body: "live hello" });
    const [ea, eb] = await Promise.all([until(() => a.events()[0]), until(() => b.events()[0])]);
    for (const frame of [ea, eb]) {
      expect(frame.event).toBe("message.created");
      expect(JSON.parse(frame.data!)).toEqual({ type: "message.created", message: created.json });
    }
    // How fast (the 100 ms target) is measured by bench/, not asserted here.

    const updated = await call(base, "PATCH", `${path}/messages/1`, { body: "live edit" });
    await call(base, "DELETE", `${path}/messages/1`);
    const events = await until(() => (b.events().length >= 3 ? b.events() : undefined));
    expect(events.map((e) => e.event)).toEqual(["message.created", "message.updated", "message.deleted"]);
    expect(JSON.parse(events[1]!.data!).message).toEqual(updated.json);
    expect(JSON.parse(events[2]!.data!)).toEqual({ type: "message.deleted", message: updated.json });
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
    a.close();
    b.close();
  });

  test("Last-Event-ID resumes without gaps or repeats", async () => {
    const { path } = await newChat();
    const first = open(`${base}/api/v1${path}/events`);
    await until(() => (first.frames.length ? true : undefined));
    for (let i = 1; i <= 3; i++) await call(base, "POST", `${path}/messages`, { body: `before ${i}` });
    const seen = await until(() => (first.events().length === 3 ? first.events() : undefined));
    first.close();
    for (let i = 4; i <= 6; i++) await call(base, "POST", `${path}/messages`, { body: `while away ${i}` });
    const resumed = open(`${other}/api/v1${path}/events`, { "last-event-id": seen[1]!.id! });
    await until(() => (resumed.events().length >= 4 ? true : undefined));
    await call(base, "POST", `${path}/messages`, { body: "after resume" });
    const events = await until(() => (resumed.events().length >= 5 ? resumed.events() : undefined));
    expect(events.map((e) => JSON.parse(e.data!).message.number)).toEqual([3, 4, 5, 6, 7]);
    resumed.close();
  });

  test("idle streams get keep-alive comments and stay open past Bun's 10 s idle timeout", async () => {
    const api = await startApi({ SSE_KEEPALIVE_MS: "1000" });
    try {
      const { path } = await newChat();
      const stream = open(`${api.url}/api/v1${path}/events`);
      await until(() => (stream.frames.length ? true : undefined));
      expect(stream.status()).toBe(200);
      await Bun.sleep(11_500);
      expect(stream.frames.filter((f) => f.comment === "keep-alive").length).toBeGreaterThanOrEqual(5);
      await call(base, "POST", `${path}/messages`, { body: "still there" });
      const [event] = await until(() => (stream.events().length ? stream.events() : undefined));
      expect(JSON.parse(event!.data!).message.body).toBe("still there");
      stream.close();
    } finally {
      await api.stop();
    }
  }, 30_000);

  test("an unknown chat is 404", async () => {
    const { token } = await newChat();
    const res = await fetch(`${base}/api/v1/applications/${token}/chats/9/events`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe("not_found");
  });
});

describe("live events over WebSocket", () => {
  test("the same events as JSON frames, resumable with ?last_event_id=", async () => {
    const { token, path } = await newChat();
    const url = `${base.replace("http", "ws")}/api/v1${path}/ws`;
    const frames: { id: string; type: string; message: { number: number; body: string } }[] = [];
    const ws = new WebSocket(url);
    ws.onmessage = (e) => frames.push(JSON.parse(String(e.data)));
    await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
    await Bun.sleep(50);
    const created = await call(other, "POST", `${path}/messages`, { body: "over ws" });
    await call(other, "PATCH", `${path}/messages/1`, { body: "edited over ws" });
    await until(() => (frames.length === 2 ? true : undefined));
    expect(frames[0] as unknown).toEqual({ id: expect.any(String), type: "message.created", message: created.json });
    expect(frames[1]!.type).toBe("message.updated");
    ws.close();

    await call(base, "POST", `${path}/messages`, { body: "missed" });
    const resumed: typeof frames = [];
    const again = new WebSocket(`${url}?last_event_id=${frames[0]!.id}`);
    again.onmessage = (e) => resumed.push(JSON.parse(String(e.data)));
    await until(() => (resumed.length === 2 ? true : undefined));
    expect(resumed.map((f) => [f.type, f.message.number])).toEqual([["message.updated", 1], ["message.created", 2]]);
    again.close();
    expect((await fetch(`${base}/api/v1/applications/${token}/chats/1/ws`)).status).toBe(426);
    const unknown = new WebSocket(`${base.replace("http", "ws")}/api/v1/applications/${token}/chats/5/ws`);
    const outcome = await new Promise((resolve) => {
      unknown.onopen = () => resolve("open");
      unknown.onerror = () => resolve("refused");
    });
    expect(outcome).toBe("refused");
  });
});
