import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { call } from "../support/http.ts";
import { sharedStack } from "../support/processes.ts";
import { appId, config, drained, keys, redisClient, rows, searchable } from "../support/stack.ts";

let base: string;
beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
});

async function cli(...args: string[]) {
  return cliWith(process.env, ...args);
}

async function cliWith(env: Record<string, string | undefined>, ...args: string[]) {
  const proc = Bun.spawn(["bun", join(import.meta.dir, "../../scripts/cli.ts"), ...args], { stdout: "pipe", stderr: "pipe", env });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, out, err };
}

/**
 * Usage checks come before any client exists: with every service address pointing at a closed
 * port, a command line that is wrong still exits 2 with its own message (a connection attempt would
 * end in exit 1 and a connection error), and help still exits 0.
 */
const nowhere = { ...process.env, DATABASE_URL: "mysql://chat:chat@127.0.0.1:1/none", REDIS_URL: "redis://127.0.0.1:1/0", ELASTICSEARCH_URL: "http://127.0.0.1:1" };
const offline = (...args: string[]) => cliWith(nowhere, ...args);

function expectUsageError(result: { code: number; out: string; err: string }, message: string | RegExp, help: string) {
  expect(result.code).toBe(2);
  expect(result.out).toBe("");
  const lines = result.err.trim().split("\n");
  expect(lines).toHaveLength(2);
  expect(lines[0]).toStartWith("error: ");
  if (typeof message === "string") expect(lines[0]).toContain(message);
  else expect(lines[0]).toMatch(message);
  expect(lines[1]).toBe(`Run \`${help}\` for usage.`);
}

describe("usage", () => {
  test.each([
    [["--help"], "Usage: bun run cli <command>"],
    [["-h"], "Usage: bun run cli <command>"],
    [["reindex", "--help"], "Usage: bun run cli reindex [--batch N]"],
    [["reindex", "-h"], "Usage: bun run cli reindex [--batch N]"],
    [["reconcile", "--help"], "Usage: bun run cli reconcile"],
    [["dlq", "--help"], "Usage: bun run cli dlq <list|replay>"],
    [["dlq", "list", "--help"], "Usage: bun run cli dlq list [--limit N]"],
    [["dlq", "replay", "--help"], "Usage: bun run cli dlq replay <id…|--all>"],
    // Help wins over whatever else the line holds.
    [["reindex", "--batch", "x", "--help"], "Usage: bun run cli reindex"],
  ])("%j prints its usage on stdout and exits 0", async (args, usage) => {
    const { code, out, err } = await offline(...args);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out).toStartWith(usage);
  });

  test("the top-level help lists every command", async () => {
    const { out } = await offline("--help");
    for (const command of ["reindex [--batch N]", "reconcile", "dlq list [--limit N]", "dlq replay <id…|--all>"]) expect(out).toContain(command);
  });

  test.each([
    [["reindex", "--batch", "x"], '--batch must be an integer from 1 to 10000, got "x"', "bun run cli reindex --help"],
    [["reindex", "--batch=1.5"], '--batch must be an integer from 1 to 10000, got "1.5"', "bun run cli reindex --help"],
    [["reindex", "--batch", "0"], '--batch must be an integer from 1 to 10000, got "0"', "bun run cli reindex --help"],
    [["reindex", "--batch", "-3"], '--batch must be an integer from 1 to 10000, got "-3"', "bun run cli reindex --help"],
    [["reindex", "--batch", "10001"], '--batch must be an integer from 1 to 10000, got "10001"', "bun run cli reindex --help"],
    [["reindex", "--batch"], "--batch needs a value", "bun run cli reindex --help"],
    [["reindex", "--bogus"], "unknown option --bogus for reindex", "bun run cli reindex --help"],
    [["reindex", "extra"], 'unexpected argument "extra" for reindex', "bun run cli reindex --help"],
    [["reconcile", "--force"], "unknown option --force for reconcile", "bun run cli reconcile --help"],
    [["dlq", "list", "--limit", "lots"], '--limit must be an integer from 1 to 1000000, got "lots"', "bun run cli dlq list --help"],
    [["dlq", "list", "--all"], "unknown option --all for dlq list", "bun run cli dlq list --help"],
    [["dlq", "replay"], "dlq replay needs dead-letter ids", "bun run cli dlq replay --help"],
    [["dlq", "replay", "--all", "1-0"], "ids or --all, not both", "bun run cli dlq replay --help"],
    [["dlq", "replay", "not-an-id"], 'not a dead-letter entry id: "not-an-id"', "bun run cli dlq replay --help"],
    [["dlq", "replay", "--all=yes"], "--all takes no value", "bun run cli dlq replay --help"],
    [["dlq", "purge"], 'unknown dlq subcommand "purge"', "bun run cli dlq --help"],
    [["frobnicate"], 'unknown command "frobnicate"', "bun run cli --help"],
    [["--verbose"], "unknown option --verbose", "bun run cli --help"],
    [[], "no command given", "bun run cli --help"],
  ])("%j is refused with exit 2 before touching any service", async (args, message, help) => {
    expectUsageError(await offline(...args), message, help);
  });

  test("a configuration error exits 2 naming the variable", async () => {
    const { code, err } = await cliWith({ ...process.env, DATABASE_URL: "not a url" }, "reconcile");
    expect(code).toBe(2);
    expect(err).toContain("DATABASE_URL");
  });

  test("a valid command line does reach the services (the checks above are not vacuous)", async () => {
    const { code, err } = await offline("reindex", "--batch", "5");
    expect(code).toBe(1);
    expect(err).toStartWith("error: ");
  });
});

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
  await rows("INSERT INTO messages (application_id, chat_number, number, body, version, created_at, updated_at) VALUES (?, 1, 50, 'only in mysql', 1, '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.678')", [id]);
  await es(`/_doc/${id}:1:999?routing=${id}:1&refresh=true`, { method: "PUT", body: JSON.stringify({ app: id, chat: `${id}:1`, number: 999, body: "orphan", created_at: 0 }) });
  const { code, out, err } = await cli("reindex");
  expect({ code, err: code ? err : "" }).toEqual({ code: 0, err: "" });
  expect(out).toMatch(/reindex: \d+ messages indexed, [1-9]\d* orphan documents removed/);
  await es("/_refresh", { method: "POST" });
  const res = await es("/_search", { method: "POST", body: JSON.stringify({ query: { term: { chat: `${id}:1` } }, _source: ["number", "created_at"] }) });
  const sources = ((await res.json()) as { hits: { hits: { _source: { number: number; created_at: number } }[] } }).hits.hits.map((h) => h._source);
  expect(sources.map((s) => s.number).sort()).toEqual([1, 2, 3, 50]);
  // The time indexed is the row's own (a UTC DATETIME), whatever the MySQL session's time zone.
  expect(sources.find((s) => s.number === 50)!.created_at).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 678));
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

// The test database holds every earlier test's messages (hundreds of thousands): a big batch keeps this quick.
test("reindex --batch N walks MySQL and the index N by N", async () => {
  await chatWithMessages(3);
  const { code, out, err } = await cli("reindex", "--batch", "5000");
  expect({ code, err: code ? err : "" }).toEqual({ code: 0, err: "" });
  expect(out).toMatch(/reindex: [1-9]\d* messages indexed/);
});

test("dlq list --limit N prints at most N entries and the total", async () => {
  const { token } = await chatWithMessages(1);
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) ids.push((await redisClient().xadd(keys.deadLetter, "*", "stream", keys.streamOf(token), "entry", `0-${i}`, "group", "mysql", "reason", "test", "fields", "[]"))!);
  try {
    const total = await redisClient().xlen(keys.deadLetter);
    const { code, out } = await cli("dlq", "list", "--limit", "2");
    expect(code).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe(`${total} dead-lettered entries`);
  } finally {
    await redisClient().xdel(keys.deadLetter, ...ids);
  }
});
