import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, eventually } from "../support/http.ts";
import { sharedStack, startWorker, type Proc } from "../support/processes.ts";
import { managed, startServices, stopService } from "../support/services.ts";
import { appId, config, drained, pendingOf, rows, searchable } from "../support/stack.ts";

// Unique per run: a consumer name left from an earlier run may still hold entries.
const victimName = `victim-${Date.now()}`;
const terminatedName = `terminated-${Date.now()}`;
let base: string;
let shared: Proc;
beforeAll(async () => {
  const stack = await sharedStack();
  base = stack.apis[0]!.url;
  shared = stack.worker;
});
afterAll(async () => {
  shared.proc.kill("SIGCONT");
  await startServices();
});

async function indexed(id: number, chat: number): Promise<number[]> {
  await fetch(`${config.elasticsearchUrl}/${config.searchIndex}/_refresh`, { method: "POST" });
  const res = await fetch(`${config.elasticsearchUrl}/${config.searchIndex}/_search`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ size: 10_000, _source: ["number"], query: { term: { chat: `${id}:${chat}` } } }),
  });
  const json = (await res.json()) as { hits: { hits: { _source: { number: number } }[] } };
  return json.hits.hits.map((h) => h._source.number).sort((a, b) => a - b);
}

async function newChat(name: string) {
  const token = (await call(base, "POST", "/applications", { name })).json.token as string;
  await call(base, "POST", `/applications/${token}/chats`, {});
  return { token, path: `/applications/${token}/chats/1/messages` };
}

describe("search sink faults", () => {
  test("a search worker SIGKILLed mid-bulk, again and again, loses and doubles nothing", async () => {
    const { token, path } = await newChat("kill search");
    shared.proc.kill("SIGSTOP");
    try {
      const posts = await Promise.all(Array.from({ length: 3000 }, (_, i) => call(base, "POST", path, { body: `indexed ${i}` })));
      expect(posts.every((r) => r.status === 201)).toBe(true);
      for (let round = 0; round < 4; round++) {
        const victim = startWorker({ WORKER_NAME: victimName, WORKER_BATCH_SIZE: "50", WORKER_SINKS: "search" });
        await eventually(async () => ((await pendingOf("search", victimName)) > 0 ? true : undefined), 15_000, "a batch in hand", 5);
        await victim.stop("SIGKILL");
      }
      expect(await pendingOf("search", victimName)).toBeGreaterThan(0);
    } finally {
      shared.proc.kill("SIGCONT");
    }
    await searchable(60_000);
    expect(await indexed(await appId(token), 1)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
  });
});

describe.if(managed("mariadb") && managed("elasticsearch"))("outages", () => {
  test("with MySQL down, writes are accepted and become searchable; MySQL catches up when it returns", async () => {
    const { token, path } = await newChat("mysql down");
    await call(base, "POST", path, { body: "before the outage" });
    await drained();
    const id = await appId(token);
    await stopService("mariadb");
    try {
      for (let i = 0; i < 20; i++) expect((await call(base, "POST", path, { body: `during mysql outage ${i}` })).status).toBe(201);
      expect((await call(base, "GET", `${path}/21`)).json.body).toBe("during mysql outage 19");
      await eventually(async () => ((await call(base, "GET", `${path}/search?q=outage`)).json?.data?.length === 21 ? true : undefined), 20_000, "searchable while MySQL is down");
    } finally {
      await startServices();
    }
    await drained("mysql", 60_000);
    const [row] = await rows("SELECT COUNT(*) n FROM messages WHERE application_id = ? AND chat_number = 1", [id]);
    expect(row!.n).toBe(21);
  }, 120_000);

  test("with Elasticsearch down, writes are persisted to MySQL and indexed once it returns", async () => {
    const { token, path } = await newChat("es down");
    await stopService("elasticsearch");
    try {
      for (let i = 0; i < 20; i++) expect((await call(base, "POST", path, { body: `during search outage ${i}` })).status).toBe(201);
      await drained("mysql", 30_000);
      const [row] = await rows("SELECT COUNT(*) n FROM messages WHERE application_id = ? AND chat_number = 1", [await appId(token)]);
      expect(row!.n).toBe(20);
      expect((await call(base, "GET", `${path}/search?q=outage`)).status).toBe(503);
    } finally {
      await startServices();
    }
    await searchable(60_000);
    expect(await indexed(await appId(token), 1)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  }, 180_000);
});
