/**
 * The read scenarios (SPEC §8) on the chat of BENCH_MESSAGES persisted messages (chat 51): search
 * p95 beside the same query sent to Elasticsearch directly, get and list p99 beside the echo's GET;
 * then a live event across two API processes, and accepted → searchable under a steady load.
 */
import { ES, LAG_RATE, spawn, stop, up } from "./harness.ts";
import { closedLoop, constantRate, percentile } from "./load.ts";
import { addRow } from "./table.ts";

type Post = (path: string, body: unknown) => Promise<any>;

export async function readScenarios(o: { API: string; token: string; chat: number; messages: number }) {
  const { API, token, chat } = o;
  const queries = ["alpha", "brav", "zulu42", "char delta", "ech", "message 4", "otel", "kilo lima", "zz", "india juliet"];
  const searchLat = await closedLoop(200, 4, (i) => fetch(`${API}/applications/${token}/chats/${chat}/messages/search?q=${encodeURIComponent(queries[i % 10]!)}`).then((r) => r.arrayBuffer()));
  const { buildQuery } = await import("../server/features/search/query.ts");
  const appId = 1;
  const esLat = await closedLoop(200, 4, (i) =>
    fetch(`${ES}/messages_bench/_search?routing=${appId}:${chat}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ size: 26, query: buildQuery(queries[i % 10]!, `${appId}:${chat}`), sort: [{ _score: "desc" }, { number: "desc" }] }),
    }).then((r) => r.arrayBuffer()),
  );
  const [search95, es95] = [percentile(searchLat, 95), percentile(esLat, 95)];
  addRow(`search p95 on a ${o.messages}-message chat (ms)`, search95, es95, "≤ 1.3× and ≤ 30 ms", search95 / es95 <= 1.3 && search95 <= 30, "ms");
  addRow("search p50 (ms)", percentile(searchLat, 50), percentile(esLat, 50), "info", true, "ms");

  const getLat = await closedLoop(5000, 16, (i) => fetch(`${API}/applications/${token}/chats/${chat}/messages/${(i % o.messages) + 1}`).then((r) => r.arrayBuffer()));
  const listLat = await closedLoop(5000, 16, () => fetch(`${API}/applications/${token}/chats/${chat}/messages?limit=25&order=desc`).then((r) => r.arrayBuffer()));
  const echoGet = await closedLoop(5000, 16, () => fetch("http://127.0.0.1:3900/echo/1").then((r) => r.arrayBuffer()));
  addRow("get message p99 (ms)", percentile(getLat, 99), percentile(echoGet, 99), "≤ 5 ms", percentile(getLat, 99) <= 5, "ms");
  addRow("list page p99 (ms)", percentile(listLat, 99), percentile(echoGet, 99), "≤ 5 ms", percentile(listLat, 99) <= 5, "ms");
}

/** Live events: POST on one API process, received over SSE on a second one. */
export async function liveScenario(o: { token: string; post: Post }) {
  const api2 = spawn("server/main.ts", { PORT: "3902" });
  await up("http://127.0.0.1:3902/healthz");
  const live = await sseLatency(`http://127.0.0.1:3902/api/v1/applications/${o.token}/chats/1/events`, (i) => o.post(`/applications/${o.token}/chats/1/messages`, { body: `live ${i}` }));
  addRow("live event p99, across processes (ms)", percentile(live, 99), NaN, "≤ 100 ms", percentile(live, 99) <= 100, "ms");
  await stop(api2);
}

async function sseLatency(url: string, send: (i: number) => Promise<unknown>): Promise<number[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.getReader();
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  const reading = (async () => {
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buffer += new TextDecoder().decode(value);
      for (const match of buffer.matchAll(/"body":"live (\d+)"/g)) {
        const t = sentAt.get(Number(match[1]));
        if (t !== undefined) latencies.push(performance.now() - t), sentAt.delete(Number(match[1]));
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 1);
    }
  })();
  await Bun.sleep(200);
  for (let i = 0; i < 100; i++) {
    sentAt.set(i, performance.now());
    await send(i);
    await Bun.sleep(10);
  }
  await Bun.sleep(300);
  controller.abort();
  await reading;
  return latencies.sort((a, b) => a - b);
}

/** Accepted → searchable: marker messages polled through search while BENCH_LAG_RATE creates/s run (a worker with both sinks must be running). */
export async function searchableLag(o: { API: string; token: string; post: Post }) {
  const { API, token, post } = o;
  const latencies: number[] = [];
  const background = constantRate(LAG_RATE, 15, (i) => post(`/applications/${token}/chats/${(i % 50) + 1}/messages`, { body: `steady load ${i}` }));
  const markers = (async () => {
    for (let i = 0; i < 40; i++) {
      const word = `marker${i}x${Date.now()}`;
      const started = performance.now();
      await post(`/applications/${token}/chats/1/messages`, { body: word });
      for (;;) {
        const hits = (await fetch(`${API}/applications/${token}/chats/1/messages/search?q=${word}`).then((r) => r.json() as Promise<any>)).data;
        if (hits?.length) break;
        await Bun.sleep(20);
      }
      latencies.push(performance.now() - started);
      await Bun.sleep(200);
    }
  })();
  const [load] = await Promise.all([background, markers]);
  const sorted = latencies.sort((a, b) => a - b);
  addRow(`accepted → searchable p99 at ${Math.round(load.achieved)}/s (ms)`, percentile(sorted, 99), 1000, "≤ 2 s", percentile(sorted, 99) <= 2000, "ms");
  addRow("accepted → searchable p50 (ms)", percentile(sorted, 50), NaN, "info", true, "ms");
}
