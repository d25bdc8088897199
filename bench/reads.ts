/**
 * The read scenarios (SPEC §8) on the chat of BENCH_MESSAGES persisted messages (chat 51): search
 * p95 beside the same query sent to Elasticsearch directly, get and list p99 beside the echo's GET;
 * then a live event across two API processes, and accepted → searchable under a steady load.
 *
 * Latencies are measured open loop, from the Go generator (load.ts openLoopRequests): at a constant
 * rate well below what the API sustains, so that a percentile is the time of a request, not the
 * queue of a saturated closed loop, and the client does not take the CPU from the server on the two
 * cores. Each side is warmed first, and ours and its baseline run in BENCH_ROUNDS rounds in rotated
 * order (median of the rounds' percentiles, range in the table).
 */
import mysql from "mysql2/promise";
import { chatKey } from "../core/search/index.ts";
import { env, ES, LAG_RATE, log, ROUNDS, spawn, stop, up } from "./harness.ts";
import { closedLoop, constantRate, openLoopRequests, percentile, type OpenLoopFigures, type Target } from "./load.ts";
import { inRounds } from "./rounds.ts";
import { warmUp } from "./warm.ts";
import { addRoundsRow, addRow } from "./table.ts";

type Post = (path: string, body: unknown) => Promise<any>;

/** The constant rate of the get / list p99 rows (and the echo beside them), requests/s. */
export const READ_RATE = Number(process.env.BENCH_READ_RATE ?? 2000);
/** The constant rate of the search p95 row (ours and Elasticsearch directly), requests/s. */
export const SEARCH_RATE = Number(process.env.BENCH_SEARCH_RATE ?? 50);
const READ_SECONDS = 5;
const SEARCH_SECONDS = 8;

/** The bench application's id in MySQL: the search baseline's routing and chat key are "<id>:<chat>". */
export async function applicationId(token: string): Promise<number> {
  const conn = await mysql.createConnection({ uri: env.DATABASE_URL });
  try {
    const [rows] = (await conn.query("SELECT id FROM applications WHERE token = ?", [token])) as unknown as [{ id: number }[]];
    if (!rows[0]) throw new Error("the bench application is not in MySQL");
    return Number(rows[0].id);
  } finally {
    await conn.end();
  }
}

const QUERIES = ["alpha", "brav", "zulu42", "char delta", "ech", "message 4", "otel", "kilo lima", "zz", "india juliet"];

/** Exactly what the API sends for `q` (server/features/search/service.ts, first page of 25). */
export async function searchBody(q: string, key: string): Promise<string> {
  const { buildQuery } = await import("../server/features/search/query.ts");
  return JSON.stringify({ size: 26, query: buildQuery(q, key), sort: [{ _score: "desc" }, { number: "desc" }], track_total_hits: false });
}

/** A pair of open-loop runs per round, ours and its baseline in rotated order; every round's figures. */
async function openRounds<K extends string>(label: string, runs: Record<K, () => Promise<OpenLoopFigures>>) {
  return inRounds(ROUNDS, runs, (round, order) => log(`${label} round ${round + 1}/${ROUNDS}: ${order.join(", ")}`));
}

const pick = (runs: OpenLoopFigures[], key: "p50" | "p95" | "p99") => runs.map((r) => r[key]);
const failures = (runs: OpenLoopFigures[]) => runs.reduce((n, r) => n + r.non2xx + r.failed, 0);

export async function readScenarios(o: { API: string; token: string; appId: number; chat: number; messages: number }) {
  const { API, token, chat } = o;
  const key = chatKey(o.appId, chat);
  const ours: Target[] = QUERIES.map((q) => ({ url: `${API}/applications/${token}/chats/${chat}/messages/search?q=${encodeURIComponent(q)}` }));
  const direct: Target[] = await Promise.all(QUERIES.map(async (q) => ({ url: `${ES}/messages_bench/_search?routing=${encodeURIComponent(key)}`, body: await searchBody(q, key) })));
  // Both sides see hits (a baseline on an empty chat would be no baseline).
  const hits = (await fetch(direct[0]!.url, { method: "POST", headers: { "content-type": "application/json" }, body: direct[0]!.body }).then((r) => r.json() as Promise<any>)).hits?.hits?.length ?? 0;
  if (!hits) throw new Error(`the search baseline finds nothing for "${QUERIES[0]}" in ${key}`);

  // Warm-up, unmeasured: both sides, as long as a measured run.
  log(`search: warming up ours and Elasticsearch directly (${SEARCH_RATE}/s, ${SEARCH_SECONDS} s each)`);
  await openLoopRequests(ours, "GET", SEARCH_RATE, SEARCH_SECONDS, log);
  await openLoopRequests(direct, "POST", SEARCH_RATE, SEARCH_SECONDS, log);
  const search = await openRounds("search", {
    ours: () => openLoopRequests(ours, "GET", SEARCH_RATE, SEARCH_SECONDS, log),
    direct: () => openLoopRequests(direct, "POST", SEARCH_RATE, SEARCH_SECONDS, log),
  });
  if (failures([...search.ours, ...search.direct])) log(`warning: search: ${failures(search.ours)} failed or non-2xx (ours), ${failures(search.direct)} (Elasticsearch)`);
  const detail = { rate: SEARCH_RATE, seconds: SEARCH_SECONDS, ours: search.ours, elasticsearch: search.direct };
  addRoundsRow({ scenario: `search p95 at ${SEARCH_RATE}/s, ${o.messages}-message chat (ms)`, ours: pick(search.ours, "p95"), baseline: pick(search.direct, "p95"), baselineName: "ES direct", target: "≤ 1.3× and ≤ 30 ms", pass: (a, b) => a / b <= 1.3 && a <= 30 && !failures(search.ours), unit: "ms", detail });
  addRoundsRow({ scenario: `search p50 at ${SEARCH_RATE}/s (ms)`, ours: pick(search.ours, "p50"), baseline: pick(search.direct, "p50"), baselineName: "ES direct", target: "info", pass: () => true, unit: "ms" });

  // Info: the former measure, a closed loop of 4 from the Bun client (a saturation figure: the queue on two cores shared by client, API and Elasticsearch).
  const closed = await inRounds(ROUNDS, {
    ours: () => closedLoop(200, 4, (i) => fetch(ours[i % ours.length]!.url).then((r) => r.arrayBuffer())),
    direct: () => closedLoop(200, 4, (i) => fetch(direct[i % direct.length]!.url, { method: "POST", headers: { "content-type": "application/json" }, body: direct[i % direct.length]!.body }).then((r) => r.arrayBuffer())),
  });
  addRoundsRow({ scenario: "search p95, closed loop of 4, Bun client (ms)", ours: closed.ours.map((l) => percentile(l, 95)), baseline: closed.direct.map((l) => percentile(l, 95)), baselineName: "ES direct", target: "info", pass: () => true, unit: "ms" });

  // get / list p99 at READ_RATE, beside the echo's GET at the same rate.
  const base = `${API}/applications/${token}/chats/${chat}/messages`;
  const gets: Target[] = Array.from({ length: 10_000 }, (_, i) => ({ url: `${base}/${((i * 7919) % o.messages) + 1}` }));
  const lists: Target[] = [{ url: `${base}?limit=25&order=desc` }];
  const echo: Target[] = [{ url: "http://127.0.0.1:3900/echo/1" }];
  // The read floor (read-floor-server.ts: the same Redis and MySQL reads, outside our code) runs in the same rounds.
  const floorServer = spawn("bench/read-floor-server.ts", { PORT: "3943", APP_ID: String(o.appId) });
  const floorBase = `http://127.0.0.1:3943/min/${token}/${chat}/messages`;
  await up(floorBase);
  const floor = { get: gets.map((g) => ({ url: g.url.replace(base, floorBase) })), list: [{ url: floorBase }] };
  await readRows({ label: "", get: gets, list: lists, baseline: { name: "echo", targets: echo }, floor });
  await stop(floorServer);

  // Info: the former measure, a closed loop of 16 from the Bun client: a saturation figure, whose p99 is the queue.
  const getClosed = await closedLoop(5000, 16, (i) => fetch(gets[i % gets.length]!.url).then((r) => r.arrayBuffer()));
  const listClosed = await closedLoop(5000, 16, () => fetch(lists[0]!.url).then((r) => r.arrayBuffer()));
  const echoClosed = await closedLoop(5000, 16, () => fetch(echo[0]!.url).then((r) => r.arrayBuffer()));
  addRow("get message p99, closed loop of 16, Bun client (ms)", percentile(getClosed, 99), percentile(echoClosed, 99), "info", true, "ms");
  addRow("list page p99, closed loop of 16, Bun client (ms)", percentile(listClosed, 99), percentile(echoClosed, 99), "info", true, "ms");
}

/**
 * get and list p99 at READ_RATE (open loop), in rounds beside `baseline` (rotated); each side warmed
 * up first, until its JIT settled (warm.ts). Rows `get message p99${label}` and `list page
 * p99${label}`; both pass at ≤ 5 ms (and, with `bothUnder5`, only when the baseline is too: the
 * backlog rows compare two chats of ours).
 */
export async function readRows(o: { label: string; get: Target[]; list: Target[]; baseline: { name: string; targets: Target[] } | { name: string; get: Target[]; list: Target[] }; bothUnder5?: boolean; floor?: { get: Target[]; list: Target[] } }) {
  const baseGet = "targets" in o.baseline ? o.baseline.targets : o.baseline.get;
  const baseList = "targets" in o.baseline ? o.baseline.targets : o.baseline.list;
  const run = (targets: Target[]) => () => openLoopRequests(targets, "GET", READ_RATE, READ_SECONDS, log);
  const sets = new Map<Target[], string>([[o.get, "get"], [o.list, "list"], [baseGet, `${o.baseline.name} get`], [baseList, `${o.baseline.name} list`]]);
  if (o.floor) sets.set(o.floor.get, "floor get").set(o.floor.list, "floor list");
  const warmed: string[] = [];
  for (const [targets, name] of sets) warmed.push(`${name} ${await warmUp(targets, READ_RATE, log)} s`);
  log(`get / list${o.label}: warmed up until the JIT settled: ${warmed.join(", ")}`);
  const entrants: Record<string, () => Promise<OpenLoopFigures>> = { get: run(o.get), list: run(o.list), baseGet: run(baseGet) };
  if (baseList !== baseGet) entrants.baseList = run(baseList);
  if (o.floor) Object.assign(entrants, { floorGet: run(o.floor.get), floorList: run(o.floor.list) });
  const r = await openRounds(`get / list${o.label} at ${READ_RATE}/s`, entrants);
  const baseLists = r.baseList ?? r.baseGet!;
  const bad = failures([...r.get!, ...r.list!]);
  if (bad) log(`warning: get / list${o.label}: ${bad} failed or non-2xx`);
  const floorBad = failures([...(r.floorGet ?? []), ...(r.floorList ?? [])]);
  if (floorBad) log(`warning: the read floor${o.label}: ${floorBad} failed or non-2xx`);
  const pass = (a: number, b: number) => a <= 5 && (!o.bothUnder5 || b <= 5) && !bad;
  const target = o.bothUnder5 ? "≤ 5 ms, both" : "≤ 5 ms";
  const detail = (ours: OpenLoopFigures[], baseline: OpenLoopFigures[]) => ({ rate: READ_RATE, seconds: READ_SECONDS, generator: ours[0]?.generator, ours, baseline });
  addRoundsRow({ scenario: `get message p99 at ${READ_RATE}/s${o.label} (ms)`, ours: pick(r.get!, "p99"), baseline: pick(r.baseGet!, "p99"), baselineName: o.baseline.name, target, pass, unit: "ms", detail: detail(r.get!, r.baseGet!) });
  addRoundsRow({ scenario: `list page p99 at ${READ_RATE}/s${o.label} (ms)`, ours: pick(r.list!, "p99"), baseline: pick(baseLists, "p99"), baselineName: o.baseline.name, target, pass, unit: "ms", detail: detail(r.list!, baseLists) });
  if (!r.floorGet || !r.floorList) return;
  addRoundsRow({ scenario: `get message p99 at ${READ_RATE}/s${o.label} vs the read floor (ms)`, ours: pick(r.get!, "p99"), baseline: pick(r.floorGet, "p99"), baselineName: "read floor", target: "info", pass: () => true, unit: "ms", detail: detail(r.get!, r.floorGet) });
  addRoundsRow({ scenario: `list page p99 at ${READ_RATE}/s${o.label} vs the read floor (ms)`, ours: pick(r.list!, "p99"), baseline: pick(r.floorList, "p99"), baselineName: "read floor", target: "info", pass: () => true, unit: "ms", detail: detail(r.list!, r.floorList) });
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
