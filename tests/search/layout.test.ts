/**
 * SEARCH_SHARDS / SEARCH_REPLICAS on a throwaway alias: migrate creates the index with them and
 * applies a new replica count in place (the shard count is fixed at creation); /readyz stays ready
 * while a one-node Elasticsearch is yellow (a replica with nowhere to go); with two shards, each
 * chat's documents stay on one shard (routed by chat) and search finds every one of them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { MessageEvent } from "../../core/events.ts";
import { createElasticsearch } from "../../core/search/client.ts";
import { INDEX_VERSION } from "../../core/search/index.ts";
import { searchSink } from "../../worker/sinks/search.ts";
import { call } from "../support/http.ts";
import { sharedStack, startApi, type Api } from "../support/processes.ts";
import { appId, config, keys, redisClient } from "../support/stack.ts";

// Contains the test index name, so scripts/test-reset.ts removes it should this file die midway.
const alias = `${config.searchIndex}_layout_${Date.now()}`;
const index = `${alias}_v${INDEX_VERSION}`;
const client = createElasticsearch(config.elasticsearchUrl);

async function es(path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${config.elasticsearchUrl}${path}`, { ...init, headers: { "content-type": "application/json" } });
  const json = await res.json();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function migrate(env: Record<string, string>): Promise<string> {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "../../scripts/migrate.ts")], { env: { ...process.env, SEARCH_INDEX: alias, ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`migrate exited ${code}: ${err}${out}`);
  return out;
}

async function layout(): Promise<{ shards: number; replicas: number }> {
  const settings = (await es(`/${alias}/_settings?flat_settings=true`))[index].settings as Record<string, string>;
  return { shards: Number(settings["index.number_of_shards"]), replicas: Number(settings["index.number_of_replicas"]) };
}

/** Documents of `chat` held by each of the two shards. */
async function perShard(chat: string): Promise<number[]> {
  const counts: number[] = [];
  for (const shard of [0, 1]) {
    const page = await es(`/${alias}/_search?preference=_shards:${shard}`, { method: "POST", body: JSON.stringify({ size: 0, track_total_hits: true, query: { term: { chat } } }) });
    counts.push(page.hits.total.value);
  }
  return counts;
}

let base: string;
let created: string;
let api: Api | undefined;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
  created = await migrate({ SEARCH_SHARDS: "2", SEARCH_REPLICAS: "1" });
});
afterAll(async () => {
  await api?.stop("SIGKILL");
  await fetch(`${config.elasticsearchUrl}/${index}`, { method: "DELETE" });
  await client.close();
});

describe("search index layout", () => {
  test("migrate creates the index with SEARCH_SHARDS shards and SEARCH_REPLICAS replicas; yellow is still ready", async () => {
    expect(created).toContain(`elasticsearch: index ${alias} created (${index}: 2 shards, 1 replica)`);
    expect(await layout()).toEqual({ shards: 2, replicas: 1 });
    const health = await es("/_cluster/health");
    // One node cannot hold a replica of its own shards: the cluster is yellow, which is not down.
    if (health.number_of_data_nodes === 1) expect(health.status).toBe("yellow");
    const ready = await fetch(`${base}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: "ready", checks: { mysql: "up", redis: "up", elasticsearch: "up" } } });
  });

  test("with two shards, a chat's documents stay on one shard and search finds all of them", async () => {
    api = await startApi({ SEARCH_INDEX: alias });
    const token = (await call(base, "POST", "/applications", { name: "layout" })).json.token as string;
    const id = await appId(token);
    const sink = searchSink({ es: client, redis: redisClient(), keys, index: alias });
    const shardOf = new Map<number, number>();
    // Chats until both shards hold one (each chat lands on either: 40 chats make missing one ~2^-39).
    for (let chat = 1; chat <= 40 && new Set(shardOf.values()).size < 2; chat++) {
      expect((await call(base, "POST", `/applications/${token}/chats`, {})).json.number).toBe(chat);
      const now = Date.now();
      const events: MessageEvent[] = Array.from({ length: 5 }, (_, i) => ({
        type: "message.created", id: `0-${i + 1}`, stream: keys.streamOf(token), appId: id, token, chat, number: i + 1,
        body: `needle ${chat}-${i + 1}`, version: 1, createdAt: now, updatedAt: now, deletedAt: null,
      }));
      await sink.handle(events);
      await es(`/${alias}/_refresh`, { method: "POST" });
      const counts = await perShard(`${id}:${chat}`);
      expect({ chat, counts: [...counts].sort() }).toEqual({ chat, counts: [0, 5] });
      shardOf.set(chat, counts.indexOf(5));
    }
    expect(new Set(shardOf.values()).size).toBe(2);
    for (const chat of shardOf.keys()) {
      const res = await call(api.url, "GET", `/applications/${token}/chats/${chat}/messages/search?q=needle&limit=25`);
      expect({ chat, status: res.status, numbers: res.json.data.map((m: { number: number }) => m.number).sort() }).toEqual({ chat, status: 200, numbers: [1, 2, 3, 4, 5] });
    }
  });

  test("a new SEARCH_REPLICAS is applied in place; the shard count is kept and said to be fixed", async () => {
    const out = await migrate({ SEARCH_SHARDS: "3", SEARCH_REPLICAS: "0" });
    expect(out).toContain(`elasticsearch: index ${alias} exists (${index}: 2 shards, 0 replicas; SEARCH_SHARDS=3 not applied`);
    expect(await layout()).toEqual({ shards: 2, replicas: 0 });
  });
});
