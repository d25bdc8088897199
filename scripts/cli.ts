/**
 * Operations CLI: `bun run cli <command>` (`bun run cli --help`, `bun run cli <command> --help`)
 *   reindex [--batch N]     rebuild the search index from MySQL (safe while workers run), with a progress bar
 *   reconcile               recompute chats_count and messages_count from COUNT(*)
 *   dlq list [--limit N]    show dead-lettered stream entries
 *   dlq replay <id…|--all>  put dead-lettered entries back on their stream (the sinks are idempotent)
 *
 * Arguments are checked before any client is created: a usage error prints one line and a hint on
 * stderr and exits 2 without touching MySQL, Redis or Elasticsearch. Help exits 0.
 */
import type { estypes } from "@elastic/elasticsearch";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../core/config.ts";
import { createDb } from "../core/db/client.ts";
import { groups, keysFor } from "../core/keys.ts";
import { redact } from "../core/log.ts";
import { createRedis, waitReady } from "../core/redis/client.ts";
import { scriptSettings, scriptsFor } from "../core/redis/scripts.ts";
import { createElasticsearch } from "../core/search/client.ts";
import { chatKey, documentId, ensureSearchIndex } from "../core/search/index.ts";
import { reconcileCounts } from "../worker/reconcile.ts";
import { chunksByBytes, MAX_STATEMENT_BYTES, utf8Bound } from "../worker/sinks/chunks.ts";

type Config = ReturnType<typeof loadConfig>;

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

export const BATCH = { default: 1000, min: 1, max: 10_000 }; // 10,000: Elasticsearch's largest page (index.max_result_window)
export const LIMIT = { default: 50, min: 1, max: 1_000_000 };

const USAGE = {
  top: `Usage: bun run cli <command> [options]

Commands:
  reindex [--batch N]       rebuild the search index from MySQL (safe while workers run)
  reconcile                 recompute chats_count and messages_count from COUNT(*)
  dlq list [--limit N]      show dead-lettered stream entries
  dlq replay <id…|--all>    put dead-lettered entries back on their stream

Options:
  -h, --help                show this help; \`bun run cli <command> --help\` shows a command's

Connections come from the environment (DATABASE_URL, REDIS_URL, ELASTICSEARCH_URL, SEARCH_INDEX,
STREAM_SHARDS), as for the API and the worker.`,
  reindex: `Usage: bun run cli reindex [--batch N]

Indexes every live message from MySQL with its version (a newer document already in the index
wins), then removes documents whose message is gone or deleted. Safe while workers run; a progress
bar goes to stderr. A missing index is first created as \`bun run migrate\` does (SEARCH_SHARDS,
SEARCH_REPLICAS).

Options:
  --batch N     messages per bulk request and per page of the orphan scan
                (integer ${BATCH.min}..${BATCH.max}, default ${BATCH.default})
  -h, --help    show this help`,
  reconcile: `Usage: bun run cli reconcile

Recomputes chats_count and messages_count from COUNT(*) and prints how many were corrected.
Workers also do it every WORKER_RECONCILE_INTERVAL_MS.

Options:
  -h, --help    show this help`,
  dlq: `Usage: bun run cli dlq <list|replay> [options]

  dlq list [--limit N]      show dead-lettered stream entries and webhook deliveries (\`dlq\` alone is \`dlq list\`)
  dlq replay <id…|--all>    put dead-lettered entries back on their stream

Run \`bun run cli dlq list --help\` or \`bun run cli dlq replay --help\` for their options.`,
  "dlq list": `Usage: bun run cli dlq list [--limit N]

Prints the oldest dead-lettered entries (id, group, stream, original entry id, reason), then how
many there are in all.

Options:
  --limit N     how many entries to print (integer ${LIMIT.min}..${LIMIT.max}, default ${LIMIT.default})
  -h, --help    show this help`,
  "dlq replay": `Usage: bun run cli dlq replay <id…|--all>

Puts dead-lettered entries back on the stream they came from and removes them from the
dead-letter stream. The sinks are idempotent, so replaying an entry twice is harmless.
A dead-lettered webhook delivery (group "webhooks") is queued again for its one endpoint,
due now, with the same webhook-id and a fresh retry schedule.

Arguments:
  <id…>         dead-letter entry ids, as \`dlq list\` prints them (e.g. 1718000000000-0)

Options:
  --all         replay every dead-lettered entry
  -h, --help    show this help`,
} as const;

type Topic = keyof typeof USAGE;

export type Command =
  | { kind: "help"; topic: Topic }
  | { kind: "reindex"; batch: number }
  | { kind: "reconcile" }
  | { kind: "dlq list"; limit: number }
  | { kind: "dlq replay"; ids: string[]; all: boolean };

/** A mistake in the command line: reported with a hint to the help of `topic`, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(message: string, readonly topic: Topic) {
    super(message);
  }
}

const helpCommand = (topic: Topic) => (topic === "top" ? "bun run cli --help" : `bun run cli ${topic} --help`);

/** `-h`/`--help` anywhere before a `--` asks for help, whatever else the line holds. */
const wantsHelp = (args: string[]) => {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === "-h" || arg === "--help");
};

function integer(raw: string | undefined, option: string, range: { min: number; max: number }, topic: Topic): number {
  const value = raw !== undefined && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new UsageError(`${option} must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw ?? "")}`, topic);
  }
  return value;
}

type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** node:util parseArgs in strict mode, its errors turned into one-line usage errors. */
function parse<O extends OptionSpec>(args: string[], options: O, topic: Topic, positionals: boolean) {
  // `--limit -1` would read as a missing value followed by an unknown option `-1`: take it as the
  // value, so the range check reports it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [arg, next] = [args[i]!, args[i + 1]];
    if (arg === "--") {
      joined.push(...args.slice(i));
      break;
    }
    const negative = arg.startsWith("--") && options[arg.slice(2)]?.type === "string" && next !== undefined && /^-\d/.test(next);
    joined.push(negative ? `${arg}=${next}` : arg);
    if (negative) i++;
  }
  try {
    return parseArgs({ args: joined, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: positionals, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const quoted = /'([^']*)'/.exec(message)?.[1];
    const where = topic === "top" ? "" : ` for ${topic}`;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown option ${quoted ?? "(unreadable)"}${where}`, topic);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") throw new UsageError(`unexpected argument ${JSON.stringify(quoted ?? "")}${where}`, topic);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const option = /--[\w-]+/.exec(message)?.[0] ?? "an option";
      const spec = options[option.slice(2)];
      throw new UsageError(spec?.type === "boolean" ? `${option} takes no value` : `${option} needs a value`, topic);
    }
    throw new UsageError(message.split("\n")[0]!, topic);
  }
}

/** The command line (without `bun scripts/cli.ts`) → what to do. Throws UsageError; touches nothing. */
export function parseCommand(argv: string[]): Command {
  const [command, ...args] = argv;
  if (command === undefined) throw new UsageError("no command given", "top");
  if (command === "-h" || command === "--help" || command === "help") return { kind: "help", topic: "top" };
  if (command.startsWith("-")) throw new UsageError(`unknown option ${command.split("=")[0]} (options go after the command)`, "top");
  switch (command) {
    case "reindex": {
      if (wantsHelp(args)) return { kind: "help", topic: "reindex" };
      const { values } = parse(args, { batch: { type: "string" } }, "reindex", false);
      const batch = values.batch === undefined ? BATCH.default : integer(values.batch as string, "--batch", BATCH, "reindex");
      return { kind: "reindex", batch };
    }
    case "reconcile":
      if (wantsHelp(args)) return { kind: "help", topic: "reconcile" };
      parse(args, {}, "reconcile", false);
      return { kind: "reconcile" };
    case "dlq": {
      const [sub, ...rest] = args;
      if (sub === undefined) return { kind: "dlq list", limit: LIMIT.default };
      if (sub === "-h" || sub === "--help") return { kind: "help", topic: "dlq" };
      if (sub === "list") {
        if (wantsHelp(rest)) return { kind: "help", topic: "dlq list" };
        const { values } = parse(rest, { limit: { type: "string" } }, "dlq list", false);
        const limit = values.limit === undefined ? LIMIT.default : integer(values.limit as string, "--limit", LIMIT, "dlq list");
        return { kind: "dlq list", limit };
      }
      if (sub === "replay") {
        if (wantsHelp(rest)) return { kind: "help", topic: "dlq replay" };
        const { values, positionals: ids } = parse(rest, { all: { type: "boolean" } }, "dlq replay", true);
        const all = values.all === true;
        if (!all && !ids.length) throw new UsageError("dlq replay needs dead-letter ids (see `dlq list`) or --all", "dlq replay");
        if (all && ids.length) throw new UsageError("dlq replay takes ids or --all, not both", "dlq replay");
        const bad = ids.find((id) => !/^\d+-\d+$/.test(id));
        if (bad !== undefined) throw new UsageError(`not a dead-letter entry id: ${JSON.stringify(bad)} (ids look like 1718000000000-0)`, "dlq replay");
        return { kind: "dlq replay", ids, all };
      }
      throw new UsageError(sub.startsWith("-") ? `dlq needs a subcommand (list or replay) before ${sub.split("=")[0]}` : `unknown dlq subcommand ${JSON.stringify(sub)} (list or replay)`, "dlq");
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`, "top");
  }
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

function progress(done: number, total: number, label: string) {
  if (!process.stderr.isTTY && done !== total && done % 10_000 !== 0) return;
  const width = 30;
  const filled = total ? Math.round((done / total) * width) : width;
  const percent = total ? Math.floor((done / total) * 100) : 100;
  process.stderr.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${percent}% ${done}/${total} ${label}`);
  if (done === total) process.stderr.write("\n");
}

/** Indexes every live message with its MySQL version (newer documents win), then deletes orphans. */
async function reindex(config: Config, batch: number) {
  const { pool } = createDb(config.databaseUrl, 2);
  // A page of long bodies is minutes of analysis on a loaded machine; nothing waits on this command.
  const es = createElasticsearch(config.elasticsearchUrl, 120_000);
  const index = config.searchIndex;
  try {
    // A lost index is created as migrate would (mappings, SEARCH_SHARDS, SEARCH_REPLICAS), never by a bulk write.
    console.log(`reindex: index ${index} ${await ensureSearchIndex(es, config)}`);
    const [[{ total }]] = (await pool.query("SELECT COUNT(*) total FROM messages WHERE deleted_at IS NULL")) as unknown as [[{ total: number }]];
    let done = 0;
    let after: [number, number, number] = [0, 0, 0];
    progress(0, Number(total), "messages indexed");
    for (;;) {
      const [rows] = (await pool.query(
        // created_at as a Date read in UTC by the pool (timezone "Z"): UNIX_TIMESTAMP() would read it in the session's time zone.
        `SELECT application_id a, chat_number c, number n, body, version v, created_at ts FROM messages
         WHERE (application_id, chat_number, number) > (?, ?, ?) AND deleted_at IS NULL
         ORDER BY application_id, chat_number, number LIMIT ?`,
        [...after, batch],
      )) as unknown as [{ a: number; c: number; n: number; body: string; v: number; ts: Date }[]];
      if (!rows.length) break;
      // One _bulk per 4 MB of bodies, as the search sink sends them: a page of 1,000 long bodies would be 40 MB.
      for (const chunk of chunksByBytes(rows, (r) => 200 + utf8Bound(r.body), MAX_STATEMENT_BYTES)) {
        const operations = chunk.flatMap((r) => [
          { index: { _index: index, _id: documentId(r.a, r.c, r.n), routing: chatKey(r.a, r.c), version: Number(r.v), version_type: "external" } },
          { app: Number(r.a), chat: chatKey(r.a, r.c), number: r.n, body: r.body, created_at: r.ts.getTime() },
        ]);
        const result = await es.bulk({ operations: operations as never, require_alias: true });
        const failed = result.items.filter((item) => {
          const status = Object.values(item)[0]!.status;
          return status >= 300 && status !== 409;
        });
        if (failed.length) throw new Error(`bulk refused ${failed.length} documents: ${JSON.stringify(failed[0]).slice(0, 300)}`);
      }
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

async function dlqList(config: Config, limit: number) {
  const redis = createRedis(config, { enableOfflineQueue: true });
  const keys = keysFor(config.streamShards);
  try {
    await waitReady(redis);
    const entries = (await redis.xrange(keys.deadLetter, "-", "+")) as [string, string[]][];
    for (const [id, fields] of entries.slice(0, limit)) {
      // The reason is an error message: it may quote the data it refused (a body), so it is redacted like a log line.
      console.log(`${id}  ${field(fields, "group").padEnd(8)}  ${field(fields, "stream")} ${field(fields, "entry")}  ${redact(field(fields, "reason"), 200)}`);
    }
    console.log(`${entries.length} dead-lettered entr${entries.length === 1 ? "y" : "ies"}`);
  } finally {
    redis.disconnect();
  }
}

async function dlqReplay(config: Config, ids: string[], all: boolean) {
  const redis = createRedis(config, { enableOfflineQueue: true });
  const keys = keysFor(config.streamShards);
  try {
    await waitReady(redis);
    const entries = (await redis.xrange(keys.deadLetter, "-", "+")) as [string, string[]][];
    const chosen = all ? entries : entries.filter(([id]) => ids.includes(id));
    if (!chosen.length) throw new Error("nothing to replay: give dead-letter ids (see `dlq list`) or --all");
    const scripts = scriptsFor(redis, keys, scriptSettings(config));
    for (const [id, fields] of chosen) {
      if (field(fields, "group") === groups.webhooks) {
        // A webhook delivery: queued again for its one endpoint, due now, with a fresh retry schedule.
        const { shard, endpoint, id: delivery, job } = JSON.parse(field(fields, "delivery")) as { shard: number; endpoint: string; id: string; job: object };
        await scripts.webhooksEnqueue({ shard, now: Date.now(), deliveries: [{ endpoint, id: delivery, job: JSON.stringify(job) }] });
      } else {
        const original = JSON.parse(field(fields, "fields")) as string[];
        await redis.xadd(field(fields, "stream"), "*", ...original);
      }
      await redis.xdel(keys.deadLetter, id);
    }
    console.log(`replayed ${chosen.length} entr${chosen.length === 1 ? "y" : "ies"}`);
  } finally {
    redis.disconnect();
  }
}

async function reconcile(config: Config) {
  const { pool } = createDb(config.databaseUrl, 2);
  try {
    const changed = await reconcileCounts(pool);
    console.log(`reconcile: corrected ${changed.chats} chat and ${changed.applications} application counts`);
  } finally {
    await pool.end();
  }
}

const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1] ?? "";

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

/** Exit codes: 0 done (or help), 1 the command failed, 2 a usage or configuration error (nothing was touched). */
async function main(argv: string[]): Promise<number> {
  let command: Command;
  let config: Config;
  try {
    command = parseCommand(argv);
    if (command.kind === "help") {
      console.log(USAGE[command.topic]);
      return 0;
    }
    config = loadConfig();
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message.slice(0, 300)}`);
      console.error(`Run \`${helpCommand(error.topic)}\` for usage.`);
      return 2;
    }
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}`);
      return 2;
    }
    throw error;
  }
  switch (command.kind) {
    case "reindex":
      await reindex(config, command.batch);
      break;
    case "reconcile":
      await reconcile(config);
      break;
    case "dlq list":
      await dlqList(config, command.limit);
      break;
    case "dlq replay":
      await dlqReplay(config, command.ids, command.all);
      break;
  }
  return 0;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(`error: ${redact(error instanceof Error ? error.message : String(error), 500)}`);
      process.exit(1);
    },
  );
}
