/**
 * SPEC §6.6: no log line of the API, the worker or the CLI contains an application token, the admin
 * key or a message body, also on the paths where errors are logged (a Redis that is down, a Redis
 * command that fails with its arguments attached, a MySQL error quoting the data it refused, an entry
 * that is dead-lettered). The test runs its own redis-server, so stopping it disturbs nobody else.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keysFor } from "../../core/keys.ts";
import { call, eventually } from "../support/http.ts";
import { startApi, startWorker, type Api, type Proc } from "../support/processes.ts";
import { appId } from "../support/stack.ts";

const root = join(import.meta.dir, "../..");
const keys = keysFor(Number(process.env.STREAM_SHARDS ?? 4));
const marker = crypto.randomUUID();
const adminKey = `admin-key-${crypto.randomUUID()}`;
const body = (n: number | string) => `secret-body-${marker}-${n} and some words`;

let redisPort: number;
let redisServer: ReturnType<typeof Bun.spawn> | undefined;
let redis: Redis | undefined;
let env: Record<string, string>;
let api: Api;
let worker: Proc;
process.on("exit", () => redisServer?.kill("SIGKILL"));

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

/** Starts the test's own redis-server (no persistence: a restart is an empty Redis) and connects to it. */
async function startRedis(): Promise<Redis> {
  redisServer = Bun.spawn(["redis-server", "--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], {
    cwd: tmpdir(),
    stdout: "ignore",
    stderr: "ignore",
  });
  return eventually(async () => {
    const client = new Redis({ port: redisPort, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch {
      client.disconnect();
      return undefined;
    }
  }, 10_000, "redis-server to answer");
}

async function stopRedis(): Promise<void> {
  redis?.disconnect();
  redis = undefined;
  redisServer?.kill("SIGKILL");
  await redisServer?.exited;
  redisServer = undefined;
}

/** Resolves when both groups have read and acknowledged every entry of every shard. */
async function drained(timeoutMs = 30_000): Promise<void> {
  await eventually(async () => {
    for (const stream of keys.streams()) {
      const info = (await redis!.xinfo("GROUPS", stream).catch(() => [])) as unknown[][];
      const byName = new Map(info.map((row) => {
        const record: Record<string, unknown> = {};
        for (let i = 0; i + 1 < row.length; i += 2) record[String(row[i])] = row[i + 1];
        return [String(record.name), record] as const;
      }));
      for (const group of ["mysql", "search"]) {
        const record = byName.get(group);
        if (!record) {
          if ((await redis!.xlen(stream)) > 0) return undefined;
          continue;
        }
        if (Number(record.pending) > 0 || (record.lag !== null && Number(record.lag) > 0)) return undefined;
      }
    }
    return true;
  }, timeoutMs, "the worker to drain every shard");
}

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const proc = Bun.spawn(["bun", ...args], { cwd: root, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, out: stdout + stderr };
}

/** The JSON log lines of a process; any other line fails the test (nothing may bypass the logger). */
function logLines(text: string): Record<string, any>[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, any>;
      } catch {
        throw new Error(`not a structured log line: ${line.slice(0, 300)}`);
      }
    });
}

beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedis();
  env = {
    REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
    LOG_LEVEL: "debug",
    ADMIN_API_KEY: adminKey,
    WORKER_NAME: "logs-worker",
    WORKER_MAX_DELIVERIES: "2",
    RATE_LIMIT_PER_MINUTE: "100000",
  };
  const migrate = await run(["scripts/migrate.ts"]);
  if (migrate.code !== 0) throw new Error(`migrate failed: ${migrate.out}`);
  api = await startApi(env, { fullOutput: true });
  worker = startWorker(env, { fullOutput: true });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([api?.stop("SIGKILL"), worker?.stop("SIGKILL")]);
  await stopRedis();
});

test("no token, admin key or message body in any log line, on the happy path and every error path", async () => {
  const secrets: string[] = [adminKey, marker];
  const base = api.url;

  // The happy path: an application, chats, messages, an edit, lists, search, the admin list.
  const created = await call(base, "POST", "/applications", { name: "logs" });
  expect(created.status).toBe(201);
  const token: string = created.json.token;
  secrets.push(token);
  const app = `/applications/${token}`;
  expect((await call(base, "POST", `${app}/chats`, { name: "room" })).status).toBe(201);
  expect((await call(base, "POST", `${app}/chats`, { name: "other room" })).status).toBe(201);
  for (let i = 1; i <= 3; i++) {
    const res = await call(base, "POST", `${app}/chats/1/messages`, { body: body(i) }, { "idempotency-key": `key-${i}` });
    expect(res.status).toBe(201);
  }
  const form = new URLSearchParams({ body: body("form") });
  expect((await call(base, "POST", `${app}/chats/1/messages`, form)).status).toBe(201);
  expect((await call(base, "PATCH", `${app}/chats/1/messages/2`, { body: body("edited") })).status).toBe(200);
  expect((await call(base, "GET", `${app}/chats/1/messages/2`)).json.body).toBe(body("edited"));
  expect((await call(base, "GET", `${app}/chats/1/messages?limit=10&order=desc`)).status).toBe(200);
  expect((await call(base, "GET", `${app}`)).status).toBe(200);
  await drained();
  await eventually(async () => {
    const res = await call(base, "GET", `${app}/chats/1/messages/search?q=${encodeURIComponent(`${marker}-1`)}`);
    return res.status === 200 && res.json.data.length > 0 ? true : undefined;
  }, 15_000, "the message to be searchable");
  expect((await call(base, "GET", "/applications?limit=5", undefined, { authorization: `Bearer ${adminKey}` })).status).toBe(200);
  const wrongKey = `wrong-admin-${crypto.randomUUID()}`;
  secrets.push(wrongKey);
  expect((await call(base, "GET", "/applications", undefined, { authorization: `Bearer ${wrongKey}` })).status).toBe(403);

  // Webhooks: the endpoints' secrets and the deliveries' bodies stay out of the logs, a failing endpoint's included.
  const receiver = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (r) => new Response("refused", { status: r.url.endsWith("/fail") ? 500 : 204 }) });
  try {
    for (const path of ["ok", "fail"]) {
      const endpoint = await call(base, "POST", `${app}/webhooks`, { url: `http://127.0.0.1:${receiver.port}/${path}` });
      expect(endpoint.status).toBe(201);
      secrets.push(endpoint.json.secret, endpoint.json.secret.slice("whsec_".length));
    }
    expect((await call(base, "POST", `${app}/chats/1/messages`, { body: body("webhook") })).status).toBe(201);
    await eventually(async () => (worker.stdout().includes('"webhook delivery failed, will retry"') ? true : undefined), 20_000, "a failed webhook delivery in the worker's log");
  } finally {
    receiver.stop(true);
  }

  // Refused input: a bad body of every shape, a malformed token, a body that does not parse.
  expect((await call(base, "POST", `${app}/chats/1/messages`, { body: "" })).status).toBe(422);
  expect((await call(base, "POST", `${app}/chats/1/messages`, { body: `${body("control")}\u0001` })).status).toBe(422);
  expect((await call(base, "POST", `${app}/chats/1/messages`, { body: { text: body("object") } })).status).toBe(422);
  // (SPEC §6.4 wants a 4xx here; whatever the answer, the body must not reach the logs.)
  expect((await call(base, "POST", `${app}/chats/1/messages`, { body: { toString: body("tostring") } })).status).toBeGreaterThanOrEqual(400);
  expect((await call(base, "POST", `${app}/chats/1/messages`, `{"body": "${body("unparsed")}"`, { "content-type": "application/json" })).status).toBe(400);
  const badToken = `bad-token-${crypto.randomUUID()}`;
  secrets.push(badToken);
  expect((await call(base, "GET", `/applications/${badToken}/chats/1/messages`)).status).toBe(404);
  expect((await call(base, "POST", `/applications/${badToken}/chats/1/messages`, { body: body("bad token") })).status).toBe(404);

  // A Redis command that fails with its arguments (token in the keys, body in the values) attached:
  // the chat's pending overlay is a string, so the create script fails with WRONGTYPE → 500.
  await redis!.set(keys.pending(token, 2), "not a sorted set");
  const broken = await call(base, "POST", `${app}/chats/2/messages`, { body: body("wrongtype") });
  expect(broken.status).toBe(500);
  await redis!.del(keys.pending(token, 2));

  // Stream entries the worker must dead-letter: an unknown type that quotes a body, and a body too
  // long for MySQL's TEXT column (the driver's error carries the SQL with the body).
  const id = String(await appId(token));
  const now = String(Date.now());
  await redis!.xadd(keys.streamOf(token), "*", "t", body("as type"), "a", id, "k", token, "c", "1", "v", now, "ts", now, "u", now);
  await drained();
  const longBody = `${body("long")} ${"x".repeat(70_000)}`;
  await redis!.xadd(keys.streamOf(token), "*", "t", "message.created", "a", id, "k", token, "c", "1", "n", "900", "b", longBody, "v", now, "ts", now, "u", now);
  await drained();
  await eventually(async () => ((await redis!.xlen(keys.deadLetter)) >= 2 ? true : undefined), 20_000, "two dead-lettered entries");
  const dlq = await run(["scripts/cli.ts", "dlq", "list"]);
  expect(dlq.code).toBe(0);
  expect(dlq.out).toContain("dead-lettered entries");

  // Redis goes away: the API answers 503 (logged as a dependency that is unavailable), the worker retries.
  await stopRedis();
  await eventually(async () => ((await call(base, "POST", `${app}/chats/1/messages`, { body: body("while down") })).status === 503 ? true : undefined), 15_000, "a 503 while Redis is down");
  expect((await call(base, "GET", `${app}/chats/1/messages/1`)).status).toBe(503);
  expect((await call(base, "GET", `${app}/chats/1/messages?limit=3`)).status).toBe(503);
  await eventually(async () => (worker.stdout().includes('"consumer loop error"') || worker.stdout().includes('"sink unavailable, retrying"') ? true : undefined), 20_000, "the worker to notice that Redis is down");

  // Redis comes back (empty): writes are accepted again and the worker catches up.
  redis = await startRedis();
  await eventually(async () => ((await call(base, "POST", `${app}/chats/1/messages`, { body: body("after restart") })).status === 201 ? true : undefined), 20_000, "writes accepted again");
  await drained();
  await eventually(async () => {
    const res = await call(base, "GET", `${app}/chats/1/messages/search?q=${encodeURIComponent(`${marker}-after`)}`);
    return res.status === 200 && res.json.data.length > 0 ? true : undefined;
  }, 20_000, "the message posted after the restart to be searchable");

  await api.stop();
  await worker.stop();

  // Nothing secret, anywhere.
  const outputs = { api: api.output(), worker: worker.output(), cli: dlq.out };
  for (const [name, text] of Object.entries(outputs)) {
    for (const secret of secrets) {
      if (text.includes(secret)) throw new Error(`${name} output contains a secret (${secret.slice(0, 12)}…): ${excerpt(text, secret)}`);
    }
    expect(text).not.toContain("secret-body");
    expect(text).not.toContain("Bearer ");
  }

  // …and the lines that matter were written, so the checks above are not vacuous.
  const apiLines = logLines(api.stdout());
  const workerLines = logLines(worker.stdout());
  expect(api.stderr().trim()).toBe("");
  expect(worker.stderr().trim()).toBe("");
  const requests = apiLines.filter((l) => l.msg === "request");
  const statuses = new Set(requests.map((l) => Number(l.status)));
  // The status a request line records is the one the client received (SPEC §6.6), 503 included.
  for (const status of [200, 201, 400, 403, 404, 422, 500, 503]) expect(statuses).toContain(status);
  expect(requests.some((l) => l.path === "/api/v1/applications/***/chats/1/messages" && l.method === "POST" && l.status === "201")).toBe(true);
  expect(requests.some((l) => l.path === "/api/v1/applications/***/chats/1/messages/1" && l.method === "GET" && l.status === "503")).toBe(true);
  expect(requests.some((l) => /^\/api\/v1\/applications\/?(\?|$)/.test(l.path) && l.method === "GET" && l.status === "200")).toBe(true);
  const unavailable = apiLines.filter((l) => l.msg === "dependency unavailable");
  expect(unavailable.length).toBeGreaterThan(0);
  expect(unavailable[0]!.path).toStartWith("/api/v1/applications/***/");
  expect(typeof unavailable[0]!.err?.message).toBe("string");
  const unhandled = apiLines.find((l) => l.msg === "unhandled error" && l.path?.endsWith("/chats/2/messages"));
  expect(unhandled).toBeDefined();
  expect(unhandled!.err).toMatchObject({ name: "ReplyError" });
  expect(unhandled!.err.command).toBeUndefined();
  expect(unhandled!.err.args).toBeUndefined();
  expect(unhandled!.path).toBe("/api/v1/applications/***/chats/2/messages");

  const failed = workerLines.filter((l) => l.msg === "entry failed");
  expect(failed.some((l) => l.err?.code === "ER_DATA_TOO_LONG" && l.err.sql === undefined)).toBe(true);
  expect(workerLines.filter((l) => l.msg === "entry dead-lettered").length).toBeGreaterThanOrEqual(2);
  expect(workerLines.some((l) => l.msg === "consumer loop error" || l.msg === "sink unavailable, retrying")).toBe(true);
  for (const line of [...apiLines, ...workerLines]) expect(JSON.stringify(line).length).toBeLessThan(20_000);
}, 180_000);

function excerpt(text: string, secret: string): string {
  const at = text.indexOf(secret);
  return text.slice(Math.max(0, at - 300), at + secret.length + 100);
}

