import { beforeAll, describe, expect, test } from "bun:test";
import { call, errorCode, eventually } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { searchable } from "../support/stack.ts";

let base: string;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
});

async function chatWith(bodies: string[]) {
  const token = (await call(base, "POST", "/applications", { name: "search" })).json.token as string;
  await call(base, "POST", `/applications/${token}/chats`, {});
  for (const body of bodies) await call(base, "POST", `/applications/${token}/chats/1/messages`, { body });
  await searchable();
  return { token, path: `/applications/${token}/chats/1/messages` };
}

const search = async (path: string, q: string, extra = "") => {
  const res = await call(base, "GET", `${path}/search?q=${encodeURIComponent(q)}${extra}`);
  if (res.status !== 200) throw new Error(`search ${q}: ${res.status} ${res.text}`);
  return res.json as { data: { number: number; body: string; highlight: string; created_at: string }[]; next_cursor: string | null };
};
const numbers = async (path: string, q: string) => (await search(path, q)).data.map((h) => h.number).sort((a, b) => a - b);

describe("search", () => {
  let path: string;
  beforeAll(async () => {
    ({ path } = await chatWith([
      "Hello world", // 1
      "Héllo Wörld, ça va?", // 2
      "yellow submarine", // 3
      "the world is big", // 4
      "Worldwide shipping", // 5
      "<b>bold</b> & \"quoted\"", // 6
      "emoji 😀 party", // 7
    ]));
  });

  test("infix fragments of 3+ characters match inside words", async () => {
    expect(await numbers(path, "ello")).toEqual([1, 2, 3]);
    expect(await numbers(path, "orld")).toEqual([1, 2, 4, 5]);
    expect(await numbers(path, "marin")).toEqual([3]);
  });

  test("short fragments match word prefixes only", async () => {
    expect(await numbers(path, "wo")).toEqual([1, 2, 4, 5]);
    expect(await numbers(path, "ld")).toEqual([]);
    expect(await numbers(path, "y")).toEqual([3]);
  });

  test("case- and accent-insensitive, both ways", async () => {
    expect(await numbers(path, "HELLO")).toEqual([1, 2]);
    expect(await numbers(path, "héllo")).toEqual([1, 2]);
    expect(await numbers(path, "CA")).toEqual([2]);
    expect(await numbers(path, "wörldwide")).toEqual([5]);
  });

  test("every word must match", async () => {
    expect(await numbers(path, "hello world")).toEqual([1, 2]);
    expect(await numbers(path, "world big")).toEqual([4]);
    expect(await numbers(path, "hello submarine")).toEqual([]);
  });

  test("exact words rank above prefixes and fragments", async () => {
    const hits = (await search(path, "world")).data.map((h) => h.number);
    expect(hits.slice(0, 3).sort()).toEqual([1, 2, 4]);
    expect(hits[3]).toBe(5);
  });

  test("hits carry number, body, created_at and an escaped highlight of the whole body", async () => {
    const [hit] = (await search(path, "ello world")).data.filter((h) => h.number === 1);
    expect(hit).toEqual({ number: 1, body: "Hello world", created_at: expect.any(String), highlight: "H<em>ello</em> <em>world</em>" });
    const [html] = (await search(path, "bold")).data;
    expect(html!.body).toBe('<b>bold</b> & "quoted"');
    expect(html!.highlight).not.toContain("<b>");
    expect(html!.highlight).toContain("<em>bold</em>");
    expect(html!.highlight).toContain("&amp;");
  });

  test("hostile query text is plain text, never query syntax", async () => {
    for (const q of ['"', "\"hello", "(hello", "hello)", "[", "{}", "*", "hel*", "wor?d", "~", "hello~2", "AND", "hello OR world", "NOT hello", "a:b", "body:hello", '{"match_all":{}}', "\\", "/regex/", "+-&&||!(){}[]^\"~*?:\\/", "x".repeat(256), "' OR 1=1 --"]) {
      const res = await call(base, "GET", `${path}/search?q=${encodeURIComponent(q)}`);
      expect([q, res.status]).toEqual([q, 200]);
      expect(Array.isArray(res.json.data)).toBe(true);
    }
    expect(await numbers(path, "*")).toEqual([]);
    expect(await numbers(path, "hello OR submarine")).toEqual([]);
  });

  test("query alias, scoping to the chat, and parameter errors", async () => {
    expect((await call(base, "GET", `${path}/search?query=hello`)).json.data.length).toBe(2);
    const other = await chatWith(["hello from another chat"]);
    expect((await search(other.path, "hello")).data.map((h) => h.body)).toEqual(["hello from another chat"]);
    for (const q of ["", "x".repeat(257)]) {
      const res = await call(base, "GET", `${path}/search?q=${q}`);
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe("bad_request");
    }
    expect((await call(base, "GET", `${path}/search`)).status).toBe(400);
    expect((await call(base, "GET", `${path}/search?q=x&limit=0`)).status).toBe(400);
    expect((await call(base, "GET", `${path}/search?q=x&cursor=zzz`)).status).toBe(400);
    expect((await call(base, "GET", `/applications/${"n".repeat(32)}/chats/1/messages/search?q=x`)).status).toBe(404);
    expect((await call(base, "GET", path.replace("/chats/1/", "/chats/99/") + "/search?q=x")).status).toBe(404);
  });
});

describe("search lifecycle", () => {
  test("pagination beyond 10 hits with a cursor, no repeats", async () => {
    const { path } = await chatWith(Array.from({ length: 35 }, (_, i) => `paging message ${i}`));
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof search>> = await search(path, "paging", `&limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.data.length).toBeLessThanOrEqual(10);
      seen.push(...page.data.map((h) => h.number));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
  });

  test("updates and deletes reach the index; a deleted chat is not searchable", async () => {
    const { token, path } = await chatWith(["original text", "to be deleted"]);
    await call(base, "PATCH", `${path}/1`, { body: "rewritten text" });
    await call(base, "DELETE", `${path}/2`);
    await searchable();
    await eventually(async () => ((await numbers(path, "original")).length === 0 ? true : undefined));
    expect(await numbers(path, "rewritten")).toEqual([1]);
    expect(await numbers(path, "deleted")).toEqual([]);
    await call(base, "DELETE", `/applications/${token}/chats/1`);
    expect((await call(base, "GET", `${path}/search?q=text`)).status).toBe(404);
  });

  test("all 1,000 concurrently created messages become searchable", async () => {
    const token = (await call(base, "POST", "/applications", { name: "bulk search" })).json.token;
    await call(base, "POST", `/applications/${token}/chats`, {});
    const path = `/applications/${token}/chats/1/messages`;
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 1000) {
          const i = next++;
          await call(base, "POST", path, { body: `needle${i} haystack` });
        }
      }),
    );
    await searchable();
    const seen = new Set<number>();
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof search>> = await search(path, "haystack", `&limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      for (const h of page.data) seen.add(h.number);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.size).toBe(1000);
    expect((await search(path, "needle517")).data.map((h) => h.number)).toEqual([518]);
  });
});
