import { describe, expect, test } from "bun:test";
import { eventEntry, newerState, parseEvent, MalformedEventError } from "../../core/events.ts";
import { fnv1a, keysFor, shardOf } from "../../core/keys.ts";
import { decodeCursor, decodeSearchCursor, encodeCursor, encodeSearchCursor } from "../../server/common/cursor.ts";
import { numberParam, redactPath, tokenParam } from "../../server/common/params.ts";
import { isDateTime, isValidBody, isValidName } from "../../server/common/text.ts";
import { isoFromSql } from "../../server/common/models.ts";
import { fingerprint, idempotencyKey } from "../../server/common/idempotency.ts";
import { mergedPage, parseEntry, type OverlayEntry } from "../../server/common/overlay.ts";
import { loadConfig, ConfigError } from "../../core/config.ts";
import { indexSettings } from "../../core/search/index.ts";
import { contracts } from "../../core/redis/scripts.ts";
import { loadLua, scriptFiles, withoutUnusedHelpers } from "../../core/redis/lua-source.ts";
import { chunksByBytes, utf8Bound } from "../../worker/sinks/chunks.ts";
import { datetimeLiteral, messageRow } from "../../worker/sinks/rows.ts";
import { formatQuery } from "../../core/db/client.ts";
import { format } from "mysql2/promise";
import { readFileSync } from "node:fs";
import { join } from "node:path";

describe("cursors", () => {
  test("round-trip; every string of the documented shape is a position; anything else is refused", () => {
    for (const n of [0, 1, 42, 2 ** 31 - 1, 2 ** 40]) expect(decodeCursor(encodeCursor(n))).toBe(n);
    expect(encodeCursor(7)).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(decodeCursor("________")).toBe(2 ** 48 - 1);
    for (const bad of ["", "!!!!!!!!", "bm9wZQ", "A".repeat(9), "A".repeat(600)]) expect(() => decodeCursor(bad)).toThrow();
    expect(decodeSearchCursor(encodeSearchCursor(3.25, 17))).toEqual({ score: 3.25, number: 17 });
    expect(() => decodeSearchCursor(encodeCursor(1))).toThrow();
  });
});

describe("events", () => {
  const fields = (extra: Record<string, string>) => Object.entries({ a: "7", k: "tok", c: "3", v: "100", ts: "1000", u: "1000", ...extra }).flat();
  test("parse message and chat events", () => {
    expect(parseEvent("s", "1-0", fields({ t: "message.created", n: "5", b: "hi" }))).toMatchObject({ type: "message.created", appId: 7, chat: 3, number: 5, body: "hi", version: 100, deletedAt: null });
    expect(parseEvent("s", "1-0", fields({ t: "chat.created" }))).toMatchObject({ type: "chat.created", name: null });
    expect(parseEvent("s", "1-0", fields({ t: "chat.deleted", nm: "x", d: "2000" }))).toMatchObject({ name: "x", deletedAt: 2000 });
  });
  test("reject malformed entries", () => {
    expect(() => parseEvent("s", "1-0", fields({ t: "nope" }))).toThrow(MalformedEventError);
    expect(() => parseEvent("s", "1-0", fields({ t: "message.created", n: "x", b: "hi" }))).toThrow(MalformedEventError);
    expect(() => parseEvent("s", "1-0", fields({ t: "message.created", n: "1" }))).toThrow(MalformedEventError);
  });
  test("the header layout the scripts write parses to the same events as the field-per-value layout", () => {
    const header = (h: Parameters<typeof eventEntry>[0], text?: [string, string]) => ["h", eventEntry(h), ...(text ?? [])];
    const base = { appId: 7, token: "tok", chat: 3, version: 100, createdAt: 1000, updatedAt: 1000 };
    expect(parseEvent("s", "1-0", header({ type: "message.created", ...base, number: 5 }, ["b", "hi|there"]))).toEqual(parseEvent("s", "1-0", fields({ t: "message.created", n: "5", b: "hi|there" })));
    expect(parseEvent("s", "1-0", header({ type: "chat.created", ...base }))).toEqual(parseEvent("s", "1-0", fields({ t: "chat.created" })));
    expect(parseEvent("s", "1-0", header({ type: "chat.deleted", ...base, deletedAt: 2000 }, ["nm", "x"]))).toMatchObject({ type: "chat.deleted", name: "x", deletedAt: 2000, chat: 3 });
    expect(parseEvent("s", "1-0", header({ type: "application.deleted", appId: 9, token: "tok" }))).toEqual({ type: "application.deleted", id: "1-0", stream: "s", appId: 9, token: "tok" });
    // The exact string _event.lua built for a create before the one-field layout.
    expect(parseEvent("s", "2-0", ["h", "message.created|7|tok|3|5|100|1000|1000|", "b", ""])).toMatchObject({ number: 5, body: "", deletedAt: null });
  });
  test("the one-field layout the scripts write parses to the same events as the older layouts", () => {
    const base = { appId: 7, token: "tok", chat: 3, version: 100, createdAt: 1000, updatedAt: 1000 };
    const entry = (h: Parameters<typeof eventEntry>[0], text?: string) => ["e", eventEntry(h, text)];
    expect(parseEvent("s", "1-0", entry({ type: "message.created", ...base, number: 5 }, "hi|there||"))).toEqual(parseEvent("s", "1-0", fields({ t: "message.created", n: "5", b: "hi|there||" })));
    expect(parseEvent("s", "1-0", entry({ type: "message.deleted", ...base, number: 5, deletedAt: 2000 }, ""))).toMatchObject({ body: "", deletedAt: 2000 });
    expect(parseEvent("s", "1-0", entry({ type: "chat.created", ...base }))).toEqual(parseEvent("s", "1-0", fields({ t: "chat.created" })));
    expect(parseEvent("s", "1-0", entry({ type: "chat.updated", ...base }, ""))).toMatchObject({ name: "" });
    expect(parseEvent("s", "1-0", entry({ type: "chat.deleted", ...base, deletedAt: 2000 }, "x|y"))).toMatchObject({ type: "chat.deleted", name: "x|y", deletedAt: 2000, chat: 3 });
    expect(parseEvent("s", "1-0", entry({ type: "application.deleted", appId: 9, token: "tok" }))).toEqual({ type: "application.deleted", id: "1-0", stream: "s", appId: 9, token: "tok" });
    // The exact string _event.lua builds for a create, and for a chat named null.
    expect(parseEvent("s", "2-0", ["e", "message.created|7|tok|3|5|100|1000|1000||"])).toMatchObject({ number: 5, body: "", deletedAt: null });
    expect(parseEvent("s", "2-0", ["e", "chat.created|7|tok|3||100|1000|1000|"])).toMatchObject({ chat: 3, name: null });
    for (const bad of ["", "message.created|7|tok|3|5|100|1000", "message.created|7|tok|3|5|100|1000|1000|", "message.created|x|tok|3|5|100|1000|1000||hi", "message.created|7|tok|3||100|1000|1000||hi", "chat.created|7|tok|3||1.5|1000|1000|"]) {
      expect(() => parseEvent("s", "1-0", ["e", bad])).toThrow(MalformedEventError);
    }
  });
  test("reject malformed headers", () => {
    for (const h of ["", "message.created|7|tok|3|5|100|1000|1000", "message.created|7|tok|3|5|100|1000|1000||", "message.created|x|tok|3|5|100|1000|1000|", "message.created|7|tok|3||100|1000|1000|"]) {
      expect(() => parseEvent("s", "1-0", ["h", h, "b", "hi"])).toThrow(MalformedEventError);
    }
  });
  test("newer state: higher version wins, a tombstone is never lifted, order does not matter", () => {
    const live = (version: number) => ({ version, deletedAt: null as number | null });
    const dead = (version: number) => ({ version, deletedAt: 1 as number | null });
    expect(newerState(live(1), live(2)).version).toBe(2);
    expect(newerState(live(2), live(1)).version).toBe(2);
    expect(newerState(dead(1), live(5)).deletedAt).toBe(1);
    expect(newerState(live(5), dead(1)).deletedAt).toBe(1);
    const events = [live(1), live(3), dead(2), live(4)];
    const folds = [events, [...events].reverse(), [events[2]!, events[0]!, events[3]!, events[1]!]].map((list) => list.reduce((a, b) => newerState(a, b)));
    expect(new Set(folds.map((s) => JSON.stringify(s))).size).toBe(1);
  });
});

describe("keys", () => {
  test("FNV-1a matches known vectors; shards are stable and in range", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
    for (const token of ["x", "abc", "Z".repeat(32)]) expect(shardOf(token, 16)).toBeLessThan(16);
  });
  test("every key of one application shares one hash tag with its stream", () => {
    const keys = keysFor(8);
    const tag = (key: string) => /\{[^}]+\}/.exec(key)![0];
    const token = "T".repeat(32);
    const all = [keys.app(token), keys.chat(token, 1), keys.pending(token, 1), keys.pendingChats(token), keys.idempotency(token, "k"), keys.channel(token, 1), keys.streamOf(token)];
    expect(new Set(all.map(tag)).size).toBe(1);
  });
});

describe("text rules", () => {
  test("names", () => {
    expect(isValidName("ok")).toBe(true);
    expect(isValidName("😀".repeat(255))).toBe(true);
    expect(isValidName("😀".repeat(256))).toBe(false);
    for (const bad of ["", "  ", "a\nb", "a\tb", "\u0000", "\ud800"]) expect(isValidName(bad)).toBe(false);
  });
  test("bodies keep tab, newline and carriage return; refuse other controls", () => {
    expect(isValidBody("a\n\tb\r")).toBe(true);
    expect(isValidBody("x".repeat(10_000))).toBe(true);
    expect(isValidBody("x".repeat(10_001))).toBe(false);
    for (const bad of ["", " \n ", "\u0000", "\u001b[31m", "\udfff"]) expect(isValidBody(bad)).toBe(false);
  });
  test("response timestamps are RFC 3339 date-times", () => {
    for (const ok of [new Date(0).toISOString(), new Date().toISOString(), "2026-11-25T15:04:05Z", "2026-11-25T15:04:05.123456+01:00"]) expect(isDateTime(ok)).toBe(true);
    for (const bad of ["", "2026-11-25", "2026-11-25 15:04:05Z", "2026-11-25T15:04:05", "x2026-11-25T15:04:05Z", "2026-11-25T15:04:05Zx", "Wed Nov 25 2026"]) expect(isDateTime(bad)).toBe(false);
  });
});

test("a MySQL DATETIME(3) text becomes the toISOString of the same instant", () => {
  for (const ms of [0, 1, 999, 1_764_117_723_456, Date.UTC(2026, 1, 28, 23, 59, 59, 7), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
    const sql = new Date(ms).toISOString().replace("T", " ").slice(0, 23);
    expect(isoFromSql(sql)).toBe(new Date(ms).toISOString());
    expect(isDateTime(isoFromSql(sql))).toBe(true);
  }
  // DATETIME(0) and DATETIME(6) texts go through Date, to the same form.
  expect(isoFromSql("2026-11-26 01:02:03")).toBe("2026-11-26T01:02:03.000Z");
  expect(isoFromSql("2026-11-26 01:02:03.456789")).toBe("2026-11-26T01:02:03.456Z");
});

describe("request helpers", () => {
  test("path parameters", () => {
    expect(numberParam("12", "chat")).toBe(12);
    for (const bad of ["0", "01", "-1", "1.0", "2147483648", "abc", ""]) expect(() => numberParam(bad, "chat")).toThrow();
    expect(() => tokenParam("short")).toThrow();
    expect(redactPath("/api/v1/applications/SECRET/chats/1")).toBe("/api/v1/applications/***/chats/1");
  });
  test("idempotency keys and fingerprints", () => {
    expect(idempotencyKey(undefined)).toBeUndefined();
    expect(idempotencyKey("abc-123")).toBe("abc-123");
    for (const bad of ["", "has space", "é", "x".repeat(256)]) expect(() => idempotencyKey(bad)).toThrow();
    expect(fingerprint("POST", "/a", { x: 1 })).toBe(fingerprint("POST", "/a", { x: 1 }));
    expect(fingerprint("POST", "/a", { x: 1 })).not.toBe(fingerprint("POST", "/b", { x: 1 }));
  });
});

describe("pending overlay", () => {
  test("entries parse as the Lua scripts write them, text kept byte for byte", () => {
    expect(parseEntry("17|100|200|+a|b\n|c", "3")).toEqual({ number: 3, version: 17, created_at: 100, updated_at: 200, deleted: false, text: "a|b\n|c" });
    expect(parseEntry("18|100|200|~", 4)).toMatchObject({ number: 4, deleted: false, text: null });
    expect(parseEntry("1795608146284044|+12|34", 6)).toEqual({ number: 6, version: 1795608146284044, created_at: 1795608146284, updated_at: 1795608146284, deleted: false, text: "12|34" });
    expect(parseEntry("1795608146284044|~", 7)).toMatchObject({ created_at: 1795608146284, text: null });
    expect(parseEntry("19|100|200|x", 5)).toMatchObject({ number: 5, deleted: true, text: null });
    expect(() => parseEntry("garbage", 1)).toThrow();
  });

  // Every page, walked with its cursors, equals the full merge computed naively, whatever the mix of
  // persisted rows, pending creates, edits and deletes (deletes in long runs included).
  test("merged pages equal the naive merge, in both orders, for random mixes", async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    type Item = { number: number; body: string };
    for (let round = 0; round < 300; round++) {
      const size = 1 + Math.floor(random() * 60);
      const rows = new Map<number, Item>();
      const overlay = new Map<number, OverlayEntry>();
      const deleteRun = random() < 0.3;
      for (let n = 1; n <= size; n++) {
        const persisted = random() < 0.6;
        if (persisted) rows.set(n, { number: n, body: `row ${n}` });
        const r = random();
        const deleted = deleteRun ? r < 0.8 : r < 0.2;
        if (deleted || r < 0.5 || !persisted) overlay.set(n, { number: n, version: n, created_at: 0, updated_at: 0, deleted, text: deleted ? null : `pending ${n}` });
      }
      const live = [...new Set([...rows.keys(), ...overlay.keys()])]
        .filter((n) => !overlay.get(n)?.deleted)
        .sort((a, b) => a - b)
        .map((n) => (overlay.has(n) ? `pending ${n}` : `row ${n}`));
      for (const order of ["asc", "desc"] as const) {
        const limit = 1 + Math.floor(random() * 7);
        const sorted = <T extends { number: number }>(list: T[]) => list.sort((a, b) => (order === "asc" ? a.number - b.number : b.number - a.number));
        const beyond = (n: number, after: number | undefined) => after === undefined || (order === "asc" ? n > after : n < after);
        const within = (n: number, bound: number | undefined) => bound === undefined || (order === "asc" ? n <= bound : n >= bound);
        const windowOf = (after: number | undefined, count: number) => sorted([...overlay.values()].filter((e) => beyond(e.number, after))).slice(0, count);
        const seen: string[] = [];
        let after: number | undefined;
        for (let pages = 0; pages < 200; pages++) {
          const page = await mergedPage<Item>({
            limit,
            order,
            after,
            window: windowOf(after, limit + 1),
            readOverlay: async (from, count) => windowOf(from, count),
            readRows: async (from, bound, count) => sorted([...rows.values()].filter((r) => beyond(r.number, from) && within(r.number, bound))).slice(0, count),
            fromEntry: (e) => ({ number: e.number, body: e.text! }),
          });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          seen.push(...page.items.map((i) => i.body));
          if (!page.more) break;
          after = page.items[page.items.length - 1]!.number;
        }
        expect(seen).toEqual(order === "asc" ? live : [...live].reverse());
      }
    }
  });
});

describe("configuration", () => {
  test("defaults work and bad values name the variable", () => {
    expect(loadConfig({}).port).toBe(3000);
    expect(() => loadConfig({ PORT: "abc" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "70000" })).toThrow(/PORT/);
    expect(() => loadConfig({ REDIS_URL: "http://x" })).toThrow(/REDIS_URL/);
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: "" }).rateLimitPerMinute).toBeNull();
  });

  test("SEARCH_SHARDS and SEARCH_REPLICAS: defaults 1 and 0, integers in range, into the index settings", () => {
    expect(loadConfig({})).toMatchObject({ searchShards: 1, searchReplicas: 0 });
    expect(loadConfig({ SEARCH_SHARDS: " 3 ", SEARCH_REPLICAS: "2" })).toMatchObject({ searchShards: 3, searchReplicas: 2 });
    expect(loadConfig({ SEARCH_SHARDS: "", SEARCH_REPLICAS: "" })).toMatchObject({ searchShards: 1, searchReplicas: 0 });
    for (const [name, value] of [["SEARCH_SHARDS", "0"], ["SEARCH_SHARDS", "1025"], ["SEARCH_SHARDS", "two"], ["SEARCH_SHARDS", "1.5"], ["SEARCH_REPLICAS", "-1"], ["SEARCH_REPLICAS", "33"], ["SEARCH_REPLICAS", "1e1"]]) {
      expect(() => loadConfig({ [name!]: value })).toThrow(new RegExp(`^${name}`));
    }
    expect(indexSettings("1s", { shards: 4, replicas: 1 })).toMatchObject({ number_of_shards: 4, number_of_replicas: 1, refresh_interval: "1s" });
    expect(indexSettings("1s")).toMatchObject({ number_of_shards: 1, number_of_replicas: 0 });
  });
});

describe("lua scripts", () => {
  test("every script declares its keys and returns, and includes resolve", () => {
    for (const file of scriptFiles()) {
      const { lua, numberOfKeys } = loadLua(file.replace(/\.lua$/, ""));
      expect([file, numberOfKeys > 0]).toEqual([file, true]);
      expect(lua).toMatch(/-- Returns/);
      expect(lua).not.toMatch(/^-- @include/m);
    }
  });

  test("a script keeps only the included helpers it calls, directly or through another", () => {
    const lua = [
      "-- a header",
      "local function leaf(x)",
      "  return x",
      "end",
      "-- unused, though it calls leaf",
      "local function unused(x)",
      "  return leaf(x)",
      "end",
      "local function middle(x)",
      "  if x then",
      "    return leaf(x)",
      "  end",
      "end",
      "local function leafy(x)",
      "  return x",
      "end",
      "return middle(ARGV[1])",
    ].join("\n");
    const kept = withoutUnusedHelpers(lua);
    expect(kept.match(/^local function \w+/gm)).toEqual(["local function leaf", "local function middle"]);
    expect(kept).toContain("-- a header\n");
    expect(kept).toContain("  if x then\n    return leaf(x)\n  end\nend\n");
    expect(kept).toEndWith("return middle(ARGV[1])");
    // Nothing to drop: the text is unchanged.
    expect(withoutUnusedHelpers(kept.replace("return middle(ARGV[1])", "return middle(leaf(1))"))).toBe(kept.replace("return middle(ARGV[1])", "return middle(leaf(1))"));
    expect(() => withoutUnusedHelpers("local function open(x)\n  return x\n  end")).toThrow(/open has no "end"/);
    // The create script calls none of the overlay's read helpers, and mutate no idempotency helper.
    expect(loadLua("create_message").lua).not.toMatch(/local function overlay_(get|put|decode)\b/);
    expect(loadLua("create_message").lua).toMatch(/local function instance_id\b/);
    expect(loadLua("mutate").lua).not.toMatch(/local function (idempotent_replay|remember|take_token)\b/);
  });

  // A sample input per contract: its named keys and arguments must be the header's, in its order.
  const samples: { [N in keyof typeof contracts]: Parameters<(typeof contracts)[N]["keys"]>[1] } = {
    createChat: { token: "t".repeat(32), name: "n" },
    createMessage: { token: "t".repeat(32), chat: 1, body: "b" },
    mutate: { token: "t".repeat(32), kind: "message", action: "updated", chat: 1, number: 2, value: "v", persisted: "" },
    rateLimit: { token: "t".repeat(32), perMinute: 60 },
    releasePending: { token: "t".repeat(32), chat: 1, persisted: [{ number: 1, version: 2 }] },
    seedApp: { token: "t".repeat(32), appId: 1, maxChat: 0 },
    seedChat: { token: "t".repeat(32), chat: 1, maxMessage: 0, deleted: false, known: true },
    webhooksRead: { token: "t".repeat(32) },
    webhooksSeed: { token: "t".repeat(32), version: 1, endpoints: [["wh_1", "{}"]] },
    webhooksEnqueue: { shard: 0, now: 1, deliveries: [{ endpoint: "wh_1", id: "d", job: "{}" }] },
    webhooksClaim: { shard: 0, now: 1, leaseMs: 1, max: 1, perEndpoint: 1, busy: [["wh_1", 1]] },
    webhooksSettle: { shard: 0, endpoint: "wh_1", id: "d", outcome: "success", counters: [["success", 1]] },
  };
  test("each script's typed function names its KEYS and ARGV as the script's header does, in order", () => {
    const settings = { ratePerMinute: 0, logLength: 10, logTtlMs: 10, idempotencyTtlSeconds: 10 };
    const files = new Set(scriptFiles());
    for (const [name, c] of Object.entries(contracts) as [keyof typeof contracts, (typeof contracts)[keyof typeof contracts]][]) {
      const header = readFileSync(join(import.meta.dir, "../../core/redis/scripts", `${c.file}.lua`), "utf8");
      const named = (kind: string) => [...header.matchAll(new RegExp(`^-- ${kind}\\[[\\d.]+\\] (\\w+):`, "gm"))].map((m) => m[1]!);
      const input = samples[name] as never;
      expect({ name, keys: Object.keys(c.keys(keysFor(4), input)) }).toEqual({ name, keys: named("KEYS") });
      expect({ name, args: Object.keys(c.args(input, settings)) }).toEqual({ name, args: named("ARGV") });
      files.delete(`${c.file}.lua`);
    }
    expect([...files]).toEqual([]);
  });
});

import { buildQuery, highlightBody, words } from "../../server/features/search/query.ts";

describe("search query and highlight", () => {
  test("words are split on whitespace and every one is required", () => {
    expect(words("  hello   wor ")).toEqual(["hello", "wor"]);
    const query = buildQuery("hello wo", "1:2") as any;
    expect(query.bool.filter).toEqual([{ term: { chat: "1:2" } }]);
    expect(query.bool.must.length).toBe(2);
    // a 2-character word only matches as a prefix (no fragment clause)
    expect(query.bool.must[1].bool.should.length).toBe(2);
    expect(JSON.stringify(query)).not.toContain("query_string");
  });
  test("highlights fragments, prefixes, accents and case; escapes HTML", () => {
    expect(highlightBody("Hello world", "ello wo")).toBe("H<em>ello</em> <em>wo</em>rld");
    expect(highlightBody("Héllo", "hello")).toBe("<em>Héllo</em>");
    expect(highlightBody("Hello", "HÉL")).toBe("<em>Hel</em>lo");
    expect(highlightBody("ld old", "ld")).toBe("<em>ld</em> old");
    expect(highlightBody("<b>x</b> & bold", "bold")).toBe("&lt;b&gt;x&lt;/b&gt; &amp; <em>bold</em>");
    expect(highlightBody("e\u0301cole 😀 école", "ecole")).toBe("<em>e\u0301cole</em> 😀 <em>école</em>");
    expect(highlightBody("nothing here", "***")).toBe("nothing here");
  });
});

import { generate, target } from "../../scripts/gen-sdk-types.ts";

test("the SDK's generated types match the server's models (run `bun scripts/gen-sdk-types.ts` after a model change)", () => {
  expect(readFileSync(target, "utf8")).toBe(generate());
});

describe("query formatting", () => {
  test("a query with values is formatted as mysql2 formats it; one without values is sent as written", () => {
    const connection = { config: { stringifyObjects: false } };
    const cases: [string, unknown][] = [
      ["SELECT ? AS a, ?? AS b", [1, "col"]],
      ["SELECT ? AS at", [new Date(Date.UTC(2026, 10, 26, 9, 5, 7, 42))]],
      ["UPDATE t SET ? WHERE id = ?", [{ a: 1, b: "it's" }, 7]],
      ["SELECT * FROM t WHERE id IN (?)", [[1, 2, 3]]],
      ["SELECT ?", 5],
      ["SELECT ?", null],
      ["SELECT 'a?b', ?", ["x"]],
    ];
    for (const [sql, values] of cases) expect(formatQuery.call(connection, sql, values, "Z")).toBe(format(sql, values as never, false, "Z"));
    expect(formatQuery.call(connection, "SELECT 'a?b' AS x, ? AS y", [], "Z")).toBe("SELECT 'a?b' AS x, ? AS y");
    expect(format("SELECT 'a?b' AS x, ? AS y", [], false, "Z")).toBe("SELECT 'a?b' AS x, ? AS y");
    expect(formatQuery.call({ config: { stringifyObjects: true } }, "SELECT ?", [{ a: 1 }], "Z")).toBe(format("SELECT ?", [{ a: 1 }], true, "Z"));
  });
});

describe("sink rows", () => {
  test("a time is written as a UTC DATETIME(3) literal, the same one after another time came between", () => {
    const a = Date.UTC(2026, 10, 26, 9, 5, 7, 42);
    const b = Date.UTC(1999, 11, 31, 23, 59, 59, 999);
    expect(datetimeLiteral(a)).toBe("'2026-11-26 09:05:07.042'");
    expect(datetimeLiteral(a)).toBe("'2026-11-26 09:05:07.042'");
    expect(datetimeLiteral(b)).toBe("'1999-12-31 23:59:59.999'");
    expect(datetimeLiteral(a)).toBe("'2026-11-26 09:05:07.042'");
    expect(datetimeLiteral(null)).toBe("NULL");
    // A time no Date holds throws, every time: it never becomes the remembered one.
    expect(() => datetimeLiteral(8.64e15 + 1)).toThrow(RangeError);
    expect(() => datetimeLiteral(8.64e15 + 1)).toThrow(RangeError);
    expect(datetimeLiteral(b)).toBe("'1999-12-31 23:59:59.999'");
  });

  test("a message row is its numbers, its escaped body and its times as SQL literals", () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    const row = messageRow({ type: "message.created", id: "1-0", stream: "s", appId: 7, token: "t", chat: 3, number: 9, version: 100, createdAt: at, updatedAt: at, deletedAt: null, body: "it's \\ here" });
    expect(row).toBe("(7,3,9,'it\\'s \\\\ here',100,NULL,'2026-01-02 03:04:05.006','2026-01-02 03:04:05.006')");
  });
});

describe("batch chunks", () => {
  test("runs stay under the byte budget, keep order, and an oversized item goes alone", () => {
    const sizes = [3, 3, 3, 10, 1, 1, 4, 4];
    const chunks = chunksByBytes(sizes.map((size, i) => ({ i, size })), (x) => x.size, 6);
    expect(chunks.map((c) => c.map((x) => x.i))).toEqual([[0, 1], [2], [3], [4, 5, 6], [7]]);
    expect(chunksByBytes([], () => 1, 6)).toEqual([]);
    expect(utf8Bound("😀")).toBeGreaterThanOrEqual(new TextEncoder().encode("😀").length);
    expect(utf8Bound("é")).toBeGreaterThanOrEqual(2);
  });
});
