/**
 * Operations CLI: `bun run cli <command>`
 *   reindex              rebuild the search index from MySQL (safe while workers run), with a progress bar
 *   reconcile            recompute chats_count and messages_count from COUNT(*)
 *   dlq list [--limit N] show dead-lettered stream entries
 *   dlq replay <id…|--all>  put dead-lettered entries back on their stream (the sinks are idempotent)
 */
import type { estypes } from "@elastic/elasticsearch";
import { loadConfig } from "../core/config.ts";
import { createDb } from "../core/db/client.ts";
import { keysFor } from "../core/keys.ts";
import { redact } from "../core/log.ts";
import { createRedis, waitReady } from "../core/redis/client.ts";
import { createElasticsearch } from "../core/search/client.ts";
import { chatKey, documentId } from "../core/search/index.ts";
import { reconcileCounts } from "../worker/reconcile.ts";

const config = loadConfig();
const [command, ...args] = process.argv.slice(2);

function progress(done: number, total: number, label: string) {
  if (!process.stderr.isTTY && done !== total && done % 10_000 !== 0) return;
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const percent = total ? Math.floor((done / total) * 100) : 100;
  process.stderr.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${percent}% ${done}/${total} ${label}`);
  if (done === total) process.stderr.write("\n");
}

/** Indexes every live message with its MySQL version (newer documents win), then deletes orphans. */
async function reindex(batch = 1000) {
  const { pool } = createDb(config.databaseUrl, 2);
  const es = createElasticsearch(config.elasticsearchUrl);
  const index = config.searchIndex;
  try {
    const [[{ total }]] = (await pool.query("SELECT COUNT(*) total FROM messages WHERE deleted_at IS NULL")) as unknown as [[{ total: number }]];
    let done = 0;
    let after: [number, number, number] = [0, 0, 0];
    progress(0, Number(total), "messages indexed");
    for (;;) {
      const [rows] = (await pool.query(
        `SELECT application_id a, chat_number c, number n, body, version v, UNIX_TIMESTAMP(created_at) * 1000 ts FROM messages
         WHERE (application_id, chat_number, number) > (?, ?, ?) AND deleted_at IS NULL
         ORDER BY application_id, chat_number, number LIMIT ?`,
        [...after, batch],
      )) as unknown as [{ a: number; c: number; n: number; body: string; v: number; ts: number }[]];
      if (!rows.length) break;
      const operations = rows.flatMap((r) => [
        { index: { _index: index, _id: documentId(r.a, r.c, r.n), routing: chatKey(r.a, r.c), version: Number(r.v), version_type: "external" } },
        { app: Number(r.a), chat: chatKey(r.a, r.c), number: r.n, body: r.body, created_at: Math.round(Number(r.ts)) },
      ]);
      const result = await es.bulk({ operations: operations as never });
      const failed = result.items.filter((item) => {
        const status = Object.values(item)[0]!.status;
        return status >= 300 && status !== 409;
      });
      if (failed.length) throw new Error(`bulk refused ${failed.length} documents: ${JSON.stringify(failed[0]).slice(0, 300)}`);
      done += rows.length;
      progress(done, Number(total), "messages indexed");
      const last = rows[rows.length - 1]!;
      after = [Number(last.a), Number(last.c), Number(last.n)];
    }
    if (done === 0) progress(0, 0, "messages indexed");

    // Documents whose message is gone from MySQL (or deleted) are removed. A point in time keeps the
    // walk on one snapshot: without it, refreshes and merges renumber `_doc` between pages and skip hits.
    await es.indices.refresh({ index });
    let removed = 0;
    let cursor: estypes.SortResults | undefined;
    const pit = await es.openPointInTime({ index, keep_alive: "2m" });
    try {
      for (;;) {
        const page = await es.search<{ app: number; chat: string; number: number }>({
          pit: { id: pit.id, keep_alive: "2m" }, size: batch, _source: ["app", "chat", "number"],
          sort: [{ _shard_doc: "asc" }] as never, ...(cursor ? { search_after: cursor } : {}),
        });
        const hits = page.hits.hits;
        if (!hits.length) break;
        const keys = hits.map((h) => [h._source!.app, Number(h._source!.chat.split(":")[1]), h._source!.number]);
        const [live] = (await pool.query(
          "SELECT application_id a, chat_number c, number n FROM messages WHERE (application_id, chat_number, number) IN (?) AND deleted_at IS NULL",
          [keys],
        )) as unknown as [{ a: number; c: number; n: number }[]];
        const alive = new Set(live.map((r) => documentId(r.a, r.c, r.n)));
        const orphans = hits.filter((h) => !alive.has(h._id!));
        if (orphans.length) {
          await es.bulk({ operations: orphans.map((h) => ({ delete: { _index: h._index, _id: h._id!, routing: h._routing } })) as never });
          removed += orphans.length;
        }
        cursor = hits[hits.length - 1]!.sort;
      }
    } finally {
      await es.closePointInTime({ id: pit.id }).catch(() => {});
    }
    console.log(`reindex: ${done} messages indexed, ${removed} orphan documents removed`);
  } finally {
    await pool.end();
    await es.close();
  }
}

async function dlq(sub: string | undefined, rest: string[]) {
  const redis = createRedis(config.redisUrl, { enableOfflineQueue: true });
  const keys = keysFor(config.streamShards);
  try {
    await waitReady(redis);
    const entries = (await redis.xrange(keys.deadLetter, "-", "+")) as [string, string[]][];
    const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1] ?? "";
    if (sub === "list" || sub === undefined) {
      const limit = rest[0] === "--limit" ? Number(rest[1]) : 50;
      for (const [id, fields] of entries.slice(0, limit)) {
        // The reason is an error message: it may quote the data it refused (a body), so it is redacted like a log line.
        console.log(`${id}  ${field(fields, "group").padEnd(6)}  ${field(fields, "stream")} ${field(fields, "entry")}  ${redact(field(fields, "reason"), 200)}`);
      }
      console.log(`${entries.length} dead-lettered entr${entries.length === 1 ? "y" : "ies"}`);
      return;
    }
    if (sub !== "replay") throw new Error("usage: dlq list [--limit N] | dlq replay <id…|--all>");
    const chosen = rest.includes("--all") ? entries : entries.filter(([id]) => rest.includes(id));
    if (!chosen.length) throw new Error("nothing to replay: give dead-letter ids (see `dlq list`) or --all");
    for (const [id, fields] of chosen) {
      const original = JSON.parse(field(fields, "fields")) as string[];
      await redis.xadd(field(fields, "stream"), "*", ...original);
      await redis.xdel(keys.deadLetter, id);
    }
    console.log(`replayed ${chosen.length} entr${chosen.length === 1 ? "y" : "ies"}`);
  } finally {
    redis.disconnect();
  }
}

async function main() {
  switch (command) {
    case "reindex":
      return reindex(args[0] === "--batch" ? Number(args[1]) : 1000);
    case "reconcile": {
      const { pool } = createDb(config.databaseUrl, 2);
      try {
        const changed = await reconcileCounts(pool);
        console.log(`reconcile: corrected ${changed.chats} chat and ${changed.applications} application counts`);
      } finally {
        await pool.end();
      }
      return;
    }
    case "dlq":
      return dlq(args[0], args.slice(1));
    default:
      console.error("usage: bun run cli reindex [--batch N] | reconcile | dlq list [--limit N] | dlq replay <id…|--all>");
      process.exit(2);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`error: ${redact(error instanceof Error ? error.message : String(error), 500)}`);
    process.exit(1);
  },
);
