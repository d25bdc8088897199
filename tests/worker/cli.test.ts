import { beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { call } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { appId, config, drained, keys, redisClient, rows, searchable } from "../support/stack.ts";

let base: string;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
});

async function cli(...args: string[]) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "../../scripts/cli.ts"), ...args], { stdout: "pipe", stderr: "pipe", env: process.env });
  const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
  return { code, out };
}

const es = (path: string, init: RequestInit = {}) =>
  fetch(`${config.elasticsearchUrl}/${config.searchIndex}${path}`, { ...init, headers: { "content-type": "application/json" } });

async function chatWithMessages(n: number) {
  const token = (await call(base, "POST", "/applications", { name: "cli" })).json.token as string;
  await call(base, "POST", `/applications/${token}/chats`, {});
  for (let i = 1; i <= n; i++) await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: `cli message ${i}` });
  await drained();
  await searchable();
  return { token, id: await appId(token) };
}

test("reconcile recomputes counts that drifted", async () => {
  const { token, id } = await chatWithMessages(3);
  await rows("UPDATE chats SET messages_count = 99 WHERE application_id = ?", [id]);
  await rows("UPDATE applications SET chats_count = 7 WHERE id = ?", [id]);
  const { code, out } = await cli("reconcile");
  expect(code).toBe(0);
  expect(out).toMatch(/corrected [1-9]\d* chat and [1-9]\d* application counts/);
  expect((await call(base, "GET", `/applications/${token}/chats/1`)).json.messages_count).toBe(3);
  expect((await call(base, "GET", `/applications/${token}`)).json.chats_count).toBe(1);
});

test("reindex restores missing documents and removes orphans", async () => {
  const { id } = await chatWithMessages(3);
  // A message the index never got (as after a lost index), and a document with no message.
  await rows("INSERT INTO messages (application_id, chat_number, number, body, version, created_at, updated_at) VALUES (?, 1, 50, 'only in mysql', 1, NOW(3), NOW(3))", [id]);
  await es(`/_doc/${id}:1:999?routing=${id}:1&refresh=true`, { method: "PUT", body: JSON.stringify({ app: id, chat: `${id}:1`, number: 999, body: "orphan", created_at: 0 }) });
  const { code, out } = await cli("reindex");
  expect(code).toBe(0);
  expect(out).toMatch(/reindex: \d+ messages indexed, [1-9]\d* orphan documents removed/);
  await es("/_refresh", { method: "POST" });
  const res = await es("/_search", { method: "POST", body: JSON.stringify({ query: { term: { chat: `${id}:1` } }, _source: ["number"] }) });
  const numbers = ((await res.json()) as { hits: { hits: { _source: { number: number } }[] } }).hits.hits.map((h) => h._source.number).sort();
  expect(numbers).toEqual([1, 2, 3, 50]);
});

test("dlq lists dead letters and replays them onto their stream", async () => {
  const { token, id } = await chatWithMessages(1);
  const fields = ["t", "message.created", "a", String(id), "k", token, "c", "1", "n", "2", "v", String(Date.now() * 1000), "ts", String(Date.now()), "u", String(Date.now()), "b", "rescued"];
  const dead = await redisClient().xadd(keys.deadLetter, "*", "stream", keys.streamOf(token), "entry", "0-1", "group", "mysql", "reason", "test", "fields", JSON.stringify(fields));
  const list = await cli("dlq", "list");
  expect(list.out).toContain(dead!);
  const replay = await cli("dlq", "replay", dead!);
  expect(replay.code).toBe(0);
  expect(replay.out).toContain("replayed 1 entry");
  await drained();
  const [row] = await rows("SELECT body FROM messages WHERE application_id = ? AND chat_number = 1 AND number = 2", [id]);
  expect(row?.body).toBe("rescued");
  expect((await cli("dlq", "list")).out).not.toContain(dead!);
});
