/**
 * Generated hostile input over every route (SPEC §3.5, §6.4, §6.6). Each case changes one thing of an
 * otherwise valid request (a body field, the body's structure or encoding, a query parameter, a path
 * segment, a header, the method) so that the request is invalid; every case must get a 4xx in the error
 * envelope without echoing what was sent, the API's request log line for it (found by the
 * x-request-id the case sends) must record the status the client received, and the whole batch must
 * change nothing. Requests go over a bare socket (support/raw-http.ts): `fetch` would normalize
 * paths and refuse some header bytes before the server saw them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, eventually, type Json } from "../support/http.ts";
import { startApi, type Api } from "../support/processes.ts";
import { rawRequest, type RawRequest, type RawResponse } from "../support/raw-http.ts";
import { keys, redisClient, rows } from "../support/stack.ts";

const ADMIN_KEY = process.env.ADMIN_API_KEY!;
/** Put into submitted values; no answer may contain it. */
const MARKER = "zq-echo-marker";
/** Keys that shadow Object.prototype members or change how a value behaves. */
const KEYS = ["toString", "valueOf", "constructor", "__proto__", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "__defineGetter__", "__lookupSetter__", "toJSON", "then"];
const CONCURRENCY = 16;

type Field = "name" | "chat-name" | "body";
type Route = { method: string; path: string; field?: Field; query?: "admin" | "list" | "search"; events?: boolean };
type Case = RawRequest & { what: string };

const ROUTES: Route[] = [
  { method: "POST", path: "/applications", field: "name" },
  { method: "GET", path: "/applications", query: "admin" },
  { method: "GET", path: "/applications/:token" },
  { method: "PATCH", path: "/applications/:token", field: "name" },
  { method: "PUT", path: "/applications/:token", field: "name" },
  { method: "DELETE", path: "/applications/:token" },
  { method: "POST", path: "/applications/:token/chats", field: "chat-name" },
  { method: "GET", path: "/applications/:token/chats", query: "list" },
  { method: "GET", path: "/applications/:token/chats/:chat" },
  { method: "PATCH", path: "/applications/:token/chats/:chat", field: "chat-name" },
  { method: "PUT", path: "/applications/:token/chats/:chat", field: "chat-name" },
  { method: "DELETE", path: "/applications/:token/chats/:chat" },
  { method: "POST", path: "/applications/:token/chats/:chat/messages", field: "body" },
  { method: "GET", path: "/applications/:token/chats/:chat/messages", query: "list" },
  { method: "GET", path: "/applications/:token/chats/:chat/messages/search", query: "search" },
  { method: "GET", path: "/applications/:token/chats/:chat/messages/:message" },
  { method: "PATCH", path: "/applications/:token/chats/:chat/messages/:message", field: "body" },
  { method: "PUT", path: "/applications/:token/chats/:chat/messages/:message", field: "body" },
  { method: "DELETE", path: "/applications/:token/chats/:chat/messages/:message" },
  { method: "GET", path: "/applications/:token/chats/:chat/events", events: true },
];

const key = (field: Field) => (field === "body" ? "body" : "name");
const VALID: Record<Field, string> = { name: "valid name", "chat-name": "valid room", body: "valid body" };

let api: Api;
let port: number;
let token: string;

// ---------------------------------------------------------------------------------------------
// The requests

function target(route: Route, segments: Partial<Record<"token" | "chat" | "message", string>> = {}, query?: string): string {
  const path = route.path.replace(":token", segments.token ?? token).replace(":chat", segments.chat ?? "1").replace(":message", segments.message ?? "1");
  const base = route.query === "search" && query === undefined ? "q=hello" : query;
  return `/api/v1${path}${base ? `?${base}` : ""}`;
}

/** The route's request with nothing wrong in it (sent as is, it would succeed). */
function valid(route: Route, what: string): Case {
  const headers: Record<string, string> = {};
  if (route.query === "admin") headers.authorization = `Bearer ${ADMIN_KEY}`;
  if (!route.field) return { what, method: route.method, target: target(route), headers };
  headers["content-type"] = "application/json";
  return { what, method: route.method, target: target(route), headers, body: JSON.stringify({ [key(route.field)]: VALID[route.field] }) };
}

const withBody = (route: Route, what: string, body: string | Uint8Array, contentType?: string): Case => {
  const base = valid(route, what);
  const headers = { ...base.headers };
  delete headers["content-type"];
  if (contentType !== undefined) headers["content-type"] = contentType;
  return { ...base, headers, body };
};

/** JSON texts of values the field refuses: wrong types, bad text, shapes that trip a runtime. */
function invalidValues(field: Field): string[] {
  const string = (s: string) => JSON.stringify(s);
  const controls = Array.from({ length: 32 }, (_, c) => c).filter((c) => field !== "body" || ![9, 10, 13].includes(c));
  const max = field === "body" ? 10_000 : 255;
  return [
    "0", "-0", "1", "1e400", "-1e400", "1.5", "true", "false", "[]", "{}", `[${string(MARKER)}]`, `{"a":${string(MARKER)}}`, "[[[[[[1]]]]]]",
    ...(field === "chat-name" ? [] : ["null"]),
    string(""), string("   "), string("\t\n\r"), string("\u00a0\u2003"),
    ...controls.map((c) => string(`${MARKER}${String.fromCharCode(c)}`)),
    ...(field === "body" ? [] : [string(`${MARKER}\n${MARKER}`)]),
    string("\ud800"), string(`${MARKER}\udfff`), string("\udc00\ud800"), string(`\ud83d${MARKER}`),
    string(MARKER.repeat(Math.ceil((max + 1) / MARKER.length)).slice(0, max + 1)), string("😀".repeat(max + 1)),
    ...KEYS.flatMap((k) => [`{"${k}":1}`, `{"${k}":${string(MARKER)}}`, `[{"${k}":null}]`, `{"a":[{"b":{"${k}":{}}}]}`, `{"${k}":{"${k}":[]}}`]),
    "[".repeat(10_000) + "]".repeat(10_000),
    '{"a":'.repeat(5_000) + "1" + "}".repeat(5_000),
  ];
}

function bodyCases(route: Route): Case[] {
  const field = route.field!;
  const f = key(field);
  const ok = JSON.stringify(VALID[field]);
  const cases: Case[] = [];
  const json = (what: string, text: string | Uint8Array) => cases.push(withBody(route, `${what}`, text, "application/json"));

  for (const value of invalidValues(field)) json(`${f}=${value.slice(0, 60)}`, `{"${f}":${value}}`);
  for (const k of KEYS) {
    json(`extra key ${k}`, `{"${f}":${ok},"${k}":1}`);
    json(`${f} under ${k}`, `{"${k}":{"${f}":${ok}}}`);
    json(`nested key ${k}`, `{"${f}":${ok},"a":{"b":[{"${k}":true}]}}`);
  }
  for (const text of ["[]", `[{"${f}":${ok}}]`, '"x"', "1", "null", "true"]) json(`top-level ${text}`, text);
  for (const text of [`{"${f}":`, `{"${f}":${ok}`, `{'${f}':'x'}`, `{"${f}":${ok},}`, `{"${f}":NaN}`, `{"${f}":Infinity}`, `{"${f}":undefined}`, `{"${f}":${ok}}garbage`, `{"${f}":${ok}}{}`, `\ufeff{"${f}":${ok}}`, "[".repeat(10_000), `{"${f}":` + "[".repeat(10_000), `{"${f}":"${MARKER}`]) {
    json(`malformed ${text.slice(0, 40)}`, text);
  }
  for (const bytes of [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xfe, 0xff]]) {
    json(`invalid UTF-8 ${bytes.map((b) => b.toString(16)).join(" ")}`, new Uint8Array([...Buffer.from(`{"${f}":"${MARKER}`), ...bytes, ...Buffer.from('"}')]));
  }
  json("over 64 KiB", JSON.stringify({ [f]: MARKER.repeat(5_000) }));

  // Forms: the same rules, and their own ways of being wrong.
  const form = (what: string, text: string) => cases.push(withBody(route, `form ${what}`, text, "application/x-www-form-urlencoded"));
  const long = "x".repeat(field === "body" ? 10_001 : 256);
  for (const value of ["", "+++", "%00", `${MARKER}%00`, `${MARKER}%01`, `${MARKER}%1F`, "%ff", `${MARKER}%ED%A0%80`, "%C0%AF", "%F4%90%80%80", "%E2%82", long]) form(`${f}=${value.slice(0, 30)}`, `${f}=${value}`);
  if (field !== "body") form(`${f} with a line break`, `${f}=a%0Ab`);
  for (const k of KEYS) {
    form(`${k}=1`, `${k}=1&${f}=ok`);
    form(`${f}[${k}]`, `${f}=ok&${f}[${k}]=1`);
    form(`${k}[${f}]`, `${k}[${f}]=ok`);
  }
  form(`${f} twice`, `${f}=ok&${f}=ok2`);
  form(`${f} name not UTF-8`, `${f}=ok&%ff=1`);

  // Multipart.
  const part = (name: string, value: string | number[], filename?: string) =>
    [
      ...Buffer.from(`--hostile\r\ncontent-disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ""}\r\n\r\n`),
      ...(typeof value === "string" ? Buffer.from(value) : value),
      ...Buffer.from("\r\n"),
    ];
  const multipart = (what: string, ...parts: number[][]) =>
    cases.push(withBody(route, `multipart ${what}`, new Uint8Array([...parts.flat(), ...Buffer.from("--hostile--\r\n")]), "multipart/form-data; boundary=hostile"));
  multipart("invalid UTF-8", part(f, [...Buffer.from(MARKER), 0xff, 0xfe]));
  multipart("encoded surrogate", part(f, [0xed, 0xa0, 0x80]));
  multipart("file", part(f, MARKER, "x.txt"));
  multipart("NUL", part(f, `${MARKER}\u0000`));
  multipart("twice", part(f, "a"), part(f, "b"));
  for (const k of KEYS) multipart(`${k}`, part(k, "1"), part(f, "ok"));
  cases.push(withBody(route, "multipart without boundary", `--x\r\ncontent-disposition: form-data; name="${f}"\r\n\r\nok\r\n--x--\r\n`, "multipart/form-data"));
  cases.push(withBody(route, "multipart wrong boundary", `--x\r\ncontent-disposition: form-data; name="${f}"\r\n\r\nok\r\n--x--\r\n`, "multipart/form-data; boundary=y"));

  // A valid JSON body under a content type that does not say so.
  const body = `{"${f}":${ok}}`;
  for (const type of ["text/plain", "application/xml", "application/jsonx", "text/json", "application/json, text/plain", "*/*", ";", "", "application/json; charset=latin1", "application/json; charset=utf-16", "multipart/form-data", "multipart/form-data; boundary=zz", "image/png"]) {
    cases.push(withBody(route, `content-type ${JSON.stringify(type)}`, body, type));
  }
  cases.push(withBody(route, "no content-type", body));
  cases.push(withBody(route, "form content-type, charset latin1", `${f}=ok`, "application/x-www-form-urlencoded; charset=iso-8859-1"));
  cases.push(withBody(route, "JSON content-type, form body", `${f}=ok`, "application/json"));
  // As a form, a JSON text is one unknown field: refused only where the field is required.
  if (!(field === "chat-name" && route.method === "POST")) cases.push(withBody(route, "form content-type, JSON body", body, "application/x-www-form-urlencoded"));
  return cases;
}

/** Bodies a DELETE must refuse before deleting anything. */
function deleteBodyCases(route: Route): Case[] {
  return [
    withBody(route, "DELETE with malformed JSON", '{"x":', "application/json"),
    withBody(route, "DELETE with a shadowing key", '{"toString":1}', "application/json"),
    withBody(route, "DELETE with __proto__", '{"__proto__":{"x":1}}', "application/json"),
    withBody(route, "DELETE with deep nesting", "[".repeat(10_000) + "]".repeat(10_000), "application/json"),
    withBody(route, "DELETE with invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), "application/json"),
    withBody(route, "DELETE with a form key", "constructor[prototype][x]=1", "application/x-www-form-urlencoded"),
    withBody(route, "DELETE with text/plain", "x", "text/plain"),
    withBody(route, "DELETE over 64 KiB", JSON.stringify({ x: "x".repeat(70_000) }), "application/json"),
  ];
}

/** Query strings every route refuses (checked before routing). */
const GLOBAL_QUERIES = [
  "__proto__[x]=1", "__proto__=1", "constructor[prototype][x]=1", "toString=1", "valueOf=1", "hasOwnProperty=1", "then=1", "toJSON=1", "a.constructor=1", "a[__proto__][b]=1",
  "x=1&x=2", "%ff=1", "x=%ff", `x=${MARKER}%00`, "x=%ED%A0%80", "x=%C0%AF", "x=a%0Ab", "x=%7F",
];

function queryCases(route: Route): Case[] {
  const cases: Case[] = [];
  const search = route.query === "search";
  const pre = search ? "q=hello&" : "";
  const add = (what: string, query: string) => cases.push({ ...valid(route, what), target: target(route, {}, query) });
  if (route.query) {
    for (const limit of ["0", "101", "-1", "-0", "1e400", "1e1", "NaN", "Infinity", "-Infinity", "1.5", "0x10", "0b1", "0o7", "%205", "5%20", "%2B5", "", "abc", "5abc", "99999999999999999999", "1_0", "%00", "1%00", "%ff", "%D9%A1", "%EF%BC%95", "5,6", "[5]", "true", "null"]) {
      add(`limit=${limit}`, `${pre}limit=${limit}`);
    }
    add("limit twice", `${pre}limit=1&limit=2`);
    for (const k of KEYS) add(`limit[${k}]`, `${pre}limit[${k}]=1`);
    const width = search ? 16 : 8;
    for (const cursor of ["", "a", "A".repeat(width - 1), "A".repeat(width + 1), "A".repeat(search ? 8 : 16), `${"A".repeat(width - 1)}%21`, "%00".repeat(width), `${"A".repeat(width - 1)}=`, "..%2F..%2F", "%ff", "A".repeat(4_000)]) {
      add(`cursor=${cursor.slice(0, 30)}`, `${pre}cursor=${cursor}`);
    }
    add("cursor twice", `${pre}cursor=${"A".repeat(width)}&cursor=${"B".repeat(width)}`);
    if (!search) {
      for (const order of ["ASC", "random", "", "asc%00", "asc;drop", "desc%20", "%ff", "1", "asc,desc", "__proto__", "toString"]) add(`order=${order}`, `order=${order}`);
      add("order twice", "order=asc&order=desc");
    }
  }
  if (search) {
    for (const q of ["", "x".repeat(257), encodeURIComponent("😀".repeat(257)), "%ff", "%00", `${MARKER}%01`, "%ED%A0%80", "a%0Ab"]) add(`q=${q.slice(0, 30)}`, `q=${q}`);
    for (const q of ["q=a&q=b", "query=a&query=b", "q[]=a", "q[toString]=1", "q[__proto__]=1", "limit=5", "query=", "toString=hello"]) add(q, q);
  }
  for (const query of GLOBAL_QUERIES) add(`query ${query}`, pre + query);
  return cases;
}

const TOKENS = (t: string) => [
  "", "a", "A".repeat(31), "A".repeat(33), "A".repeat(32), `${t.slice(0, 31)}!`, `${t}%00`, "%00", "%2e%2e", `${t}%2F`, `%2F${t}`, "__proto__", "constructor", "toString", "hasOwnProperty",
  "%5F%5Fproto%5F%5F", "%ff", "%ED%A0%80", "x".repeat(4_000), `${t};`, `${t}%20`, `%20${t}`, "*", "null", "undefined", "%5Bobject%20Object%5D", "%7B%22toString%22%3A1%7D",
];
const NUMBERS = [
  "0", "-1", "-0", "01", "1.0", "1e0", "1e400", "0x1", "+1", "%2B1", "%201", "1%20", "1%00", "%00", "NaN", "Infinity", "2147483648", "99999999999999999999", "9".repeat(400), "%2e%2e", "%2F", "1%2F1",
  "%ff", "%ED%A0%80", "%D9%A1", "%EF%BC%91", "1;", "1,2", "%5B1%5D", "true", "null", "undefined", "__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "1.", ".1", "1_0", "0b1", "1n", "%E2%80%8B1",
  "%7B%22toString%22%3A1%7D",
];

function pathCases(route: Route): Case[] {
  const cases: Case[] = [];
  const params = (["token", "chat", "message"] as const).filter((p) => route.path.includes(`:${p}`));
  for (const param of params) {
    const values = param === "token" ? TOKENS(token) : NUMBERS;
    // A literal ".." is resolved as a URL (RFC 3986) before routing; only where what it resolves to is no resource is it a case.
    const last = route.path.endsWith(`:${param}`);
    for (const value of [...values, ...(last ? [] : [".."])]) {
      cases.push({ ...valid(route, `${param}=${value.slice(0, 30)}`), target: target(route, { [param]: value }) });
    }
  }
  for (const extra of ["/x", "/%00", "/x/y", "/%2e%2e/x"]) {
    const base = valid(route, `extra segment ${extra}`);
    cases.push({ ...base, target: base.target.replace(/(\?.*)?$/, (query) => `${extra}${query}`) });
  }
  return cases;
}

function methodCases(): Case[] {
  const byPath = new Map<string, Route[]>();
  for (const route of ROUTES) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  byPath.set("/applications/:token/chats/:chat/ws", [{ method: "GET", path: "/applications/:token/chats/:chat/ws" }]);
  const cases: Case[] = [];
  for (const [path, routes] of byPath) {
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      if (routes.some((r) => r.method === method)) continue;
      const route: Route = { method, path, field: "name" };
      cases.push({ ...valid(route, `${method} ${path}`), target: target({ method, path }) });
    }
  }
  const ws = { method: "GET", path: "/applications/:token/chats/:chat/ws" };
  cases.push({ ...valid(ws, "plain GET on the WebSocket route"), target: target(ws) });
  for (const id of ["abc", "99999999999999999999-0", "-1"]) cases.push({ ...valid(ws, `ws last_event_id=${id}`), target: target(ws, {}, `last_event_id=${id}`) });
  return cases;
}

function headerCases(): Case[] {
  const cases: Case[] = [];
  for (const route of ROUTES.filter((r) => r.method === "POST")) {
    for (const value of ["", "k".repeat(256), "k".repeat(5_000), "a b", "a\tb", "\u00e9", "\u00ff\u00fe", '{"toString": 1}', "a\u007fb", "__proto__ x", "a,b c"]) {
      const base = valid(route, `Idempotency-Key ${JSON.stringify(value.slice(0, 20))}`);
      cases.push({ ...base, headers: { ...base.headers, "idempotency-key": value } });
    }
  }
  const admin = ROUTES.find((r) => r.query === "admin")!;
  for (const value of [undefined, "", "Bearer", "Bearer ", "Basic dGVzdDp0ZXN0", "Bearer wrong", `Bearer ${ADMIN_KEY}x`, `Bearer ${ADMIN_KEY.slice(0, -1)}`, `Token ${ADMIN_KEY}`, ADMIN_KEY, `Bearer ${ADMIN_KEY} ${ADMIN_KEY}`, `Bearer ${"k".repeat(6_000)}`, `Bearer ${ADMIN_KEY}\u00e9`, "Bearer __proto__", 'Bearer {"toString":1}', "Bearer null", `Bearer,${ADMIN_KEY}`]) {
    const base = valid(admin, `Authorization ${JSON.stringify((value ?? "(none)").replace(ADMIN_KEY, "<key>").slice(0, 30))}`);
    const headers = { ...base.headers };
    if (value === undefined) delete headers.authorization;
    else headers.authorization = value;
    cases.push({ ...base, headers, target: target(admin, {}, "limit=5") });
  }
  const events = ROUTES.find((r) => r.events)!;
  for (const value of ["abc", "-1", "1", "1-", "-1-1", "1-1-1", "1.5-0", "99999999999999999999-0", "18446744073709551616-0", "0-18446744073709551616", "18446744073709551615-18446744073709551615", "1-1 x", "${}", "__proto__", "toString", "1-1;", "0x1-0", "1e3-0", "1-1%00", "\u00e9", "9".repeat(500)]) {
    const base = valid(events, `Last-Event-ID ${JSON.stringify(value.slice(0, 30))}`);
    cases.push({ ...base, headers: { ...base.headers, "last-event-id": value } });
  }
  return cases;
}

function allCases(): Case[] {
  const cases: Case[] = [];
  for (const route of ROUTES) {
    if (route.field) cases.push(...bodyCases(route));
    if (route.method === "DELETE") cases.push(...deleteBodyCases(route));
    cases.push(...queryCases(route), ...pathCases(route));
  }
  cases.push(...methodCases(), ...headerCases());
  return cases;
}

// ---------------------------------------------------------------------------------------------
// What must not change

/** Streams count every entry ever added (trimming does not lower it): any accepted write shows. */
async function entriesAdded(): Promise<number> {
  let total = 0;
  for (const stream of keys.streams()) {
    const info = (await redisClient().xinfo("STREAM", stream).catch(() => [])) as unknown[];
    const at = info.indexOf("entries-added");
    total += at >= 0 ? Number(info[at + 1]) : 0;
  }
  return total;
}

/** What the API shows of the fixed targets; counts are left out, as they may lag by design (SPEC §3.4). */
async function snapshot() {
  const show = async (path: string) => {
    const res = await call(api.url, "GET", path);
    return JSON.stringify([res.status, res.json], (k, v) => (k === "chats_count" || k === "messages_count" ? undefined : v));
  };
  const app = `/applications/${token}`;
  return {
    application: await show(app),
    chats: await show(`${app}/chats?limit=100`),
    chat: await show(`${app}/chats/1`),
    messages: await show(`${app}/chats/1/messages?limit=100`),
    message: await show(`${app}/chats/1/messages/1`),
    applicationRows: Number((await rows<{ n: number }>("SELECT COUNT(*) AS n FROM applications"))[0]!.n),
    streamEntries: await entriesAdded(),
  };
}

// ---------------------------------------------------------------------------------------------

/** Status of each request's log line, by request id. */
function loggedStatuses(): Map<string, number> {
  const statuses = new Map<string, number>();
  for (const line of api.stdout().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as Json;
      if (entry.msg === "request" && typeof entry.request_id === "string") statuses.set(entry.request_id, Number(entry.status));
    } catch {}
  }
  return statuses;
}

async function runAll<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]!, index);
      }
    }),
  );
  return results;
}

/** What is wrong with an answer to a hostile case, or undefined. */
function problem(res: RawResponse, id: string): string | undefined {
  if (res.status < 400 || res.status > 499) return `status ${res.status}: ${res.text.slice(0, 200)}`;
  let json: Json;
  try {
    json = JSON.parse(res.text);
  } catch {
    return `status ${res.status} without a JSON body: ${JSON.stringify(res.text.slice(0, 200))}`;
  }
  const error = json?.error;
  const envelope =
    Object.keys(json).length === 1 && error && typeof error.code === "string" && typeof error.message === "string" &&
    Object.keys(error).every((k) => ["code", "message", "details"].includes(k)) && (error.details === undefined || Array.isArray(error.details));
  if (!envelope) return `status ${res.status}, not the error envelope: ${res.text.slice(0, 200)}`;
  if (res.text.includes(MARKER)) return `the answer echoes the submitted value: ${res.text.slice(0, 300)}`;
  if (res.headers.get("x-request-id") !== id) return `x-request-id ${res.headers.get("x-request-id")} instead of ${id}`;
  if (res.headers.get("access-control-allow-origin") !== "*" || !res.headers.get("access-control-expose-headers")?.includes("x-request-id")) return "CORS headers missing";
  return undefined;
}

beforeAll(async () => {
  api = await startApi({ LOG_LEVEL: "debug" }, { fullOutput: true });
  port = Number(new URL(api.url).port);
  const created = await call(api.url, "POST", "/applications", { name: "hostile target" });
  token = created.json.token;
  expect((await call(api.url, "POST", `/applications/${token}/chats`, { name: "room" })).status).toBe(201);
  expect((await call(api.url, "POST", `/applications/${token}/chats/1/messages`, { body: "hello" })).status).toBe(201);
}, 30_000);

afterAll(async () => {
  await api?.stop();
});

describe("hostile input", () => {
  test("a JSON value with a key that shadows Object.prototype is a 422 in the envelope, and logged as 422", async () => {
    for (const [path, field] of [["/applications", "name"], [`/applications/${token}/chats/1/messages`, "body"]] as const) {
      const id = `proto-${field}-${crypto.randomUUID()}`;
      const res = await rawRequest(port, { method: "POST", target: `/api/v1${path}`, headers: { "content-type": "application/json", "x-request-id": id }, body: `{"${field}": {"toString": 1}}` });
      expect(res.status).toBe(422);
      expect(JSON.parse(res.text).error.code).toBe("validation_failed");
      const logged = await eventually(async () => loggedStatuses().get(id), 10_000, "the request's log line");
      expect(logged).toBe(422);
    }
  });

  test("the request log line records the status the client received", async () => {
    for (const [method, path, status] of [["GET", "/api/v1/nope", 404], ["DELETE", "/api/v1/applications", 405], ["GET", `/api/v1/applications/${token}/chats/1/messages?limit=0x10`, 400]] as const) {
      const id = `log-${crypto.randomUUID()}`;
      const res = await rawRequest(port, { method, target: path, headers: { "x-request-id": id } });
      expect(res.status).toBe(status);
      expect(await eventually(async () => loggedStatuses().get(id), 10_000, "the request's log line")).toBe(status);
    }
  });

  test("every generated case is a 4xx in the envelope, logged with its status, and changes nothing", async () => {
    const cases = allCases();
    expect(cases.length).toBeGreaterThanOrEqual(1000);
    const covered = new Set(cases.map((c) => c.method));
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) expect(covered).toContain(method);

    const before = await snapshot();
    const run = `h${Date.now().toString(36)}`;
    const started = performance.now();
    const results = await runAll(cases, CONCURRENCY, async (c, i) => {
      const id = `${run}-${i}`;
      try {
        const res = await rawRequest(port, { ...c, headers: { ...c.headers, "x-request-id": id } });
        return { id, status: res.status, problem: problem(res, id) };
      } catch (error) {
        return { id, status: 0, problem: String(error) };
      }
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const tally = { "4xx": 0, "5xx": 0, other: 0 };
    for (const r of results) tally[r.status >= 400 && r.status < 500 ? "4xx" : r.status >= 500 && r.status < 600 ? "5xx" : "other"]++;
    console.log(`hostile cases: ${cases.length} (4xx: ${tally["4xx"]}, 5xx: ${tally["5xx"]}, other: ${tally.other}) in ${seconds} s`);

    const failures = results.flatMap((r, i) => (r.problem ? [`${cases[i]!.method} ${cases[i]!.what}: ${r.problem}`] : []));
    expect(failures.slice(0, 25), `${failures.length} failing cases`).toEqual([]);

    // Each answer's log line says what the client got (lines are written just after the answer).
    const logged = await eventually(async () => {
      const statuses = loggedStatuses();
      return results.every((r) => statuses.has(r.id)) ? statuses : undefined;
    }, 15_000, "a log line for every case");
    const mismatched = results.flatMap((r, i) => (logged.get(r.id) !== r.status ? [`${cases[i]!.method} ${cases[i]!.what}: answered ${r.status}, logged ${logged.get(r.id)}`] : []));
    expect(mismatched.slice(0, 25), `${mismatched.length} log lines with another status`).toEqual([]);

    expect(await snapshot()).toEqual(before);
    expect(api.stderr().trim()).toBe("");
  }, 120_000);
});
