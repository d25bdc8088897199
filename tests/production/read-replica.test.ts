/**
 * DATABASE_READ_URL (README): the API reads chats and messages from a MariaDB replica (`bun run
 * services replica`), and read-your-writes (SPEC §5.2) holds while the replica lags, because the
 * MySQL sink releases an overlay entry only once the replica has applied its commit.
 *
 * With the replica's replication stopped: a row changed on the primary alone is not what the API
 * answers (its reads go to the replica); writes made through the API are committed to the primary by
 * the worker, which holds them, so the API answers them from the overlay. Once replication runs again
 * the worker releases them and every read agrees with the primary, and the replica with the primary.
 *
 * The API and worker here use a Redis of their own: no other worker of the run may release entries.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import mysql from "mysql2/promise";
import { join } from "node:path";
import { groups, keysFor } from "../../core/keys.ts";
import { replicaSql, replicaUrl } from "../../scripts/services/mariadb-replica.ts";
import { call, eventually, type Json } from "../support/http.ts";
import { startApi, startWorker, type Api, type Proc } from "../support/processes.ts";
import { ownRedis, type OwnRedis } from "../support/redis-server.ts";
import { appId, config, drained, rows } from "../support/stack.ts";

const root = join(import.meta.dir, "../..");
const server = ["mariadbd", "mysqld"].some((bin) => Bun.which(bin, { PATH: `${process.env.PATH}:/usr/sbin:/sbin` }));
if (!server) console.warn("read-replica.test.ts skipped: mariadbd is not installed, so no replica can run here (`bun run services` installs it as root)");

const keys = keysFor(config.streamShards);
let redis: OwnRedis;
let client: Redis;
let replica: mysql.Pool;
let api: Api;
let worker: Proc;
let env: Record<string, string>;
const started: Proc[] = [];

async function run(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn(["bun", ...args], { cwd: root, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`bun ${args.join(" ")} exited with ${code}:\n${stdout}${stderr}`);
}

/** What a table holds for one application, as the primary or the replica has it. */
async function snapshot(on: "primary" | "replica", table: "chats" | "messages", app: number) {
  const sql = table === "chats"
    ? "SELECT number, name, messages_count, version, deleted_at FROM chats WHERE application_id = ? ORDER BY number"
    : "SELECT chat_number, number, body, version, deleted_at FROM messages WHERE application_id = ? ORDER BY chat_number, number";
  if (on === "primary") return rows(sql, [app]);
  const [result] = await replica.query(sql, [app]);
  return result as Record<string, unknown>[];
}

const bodies = (res: { json: Json }) => res.json.data.map((m: { body: string }) => m.body);
const names = (res: { json: Json }) => res.json.data.map((c: { name: string | null }) => c.name);

describe.if(server)("DATABASE_READ_URL: reads from a MariaDB replica", () => {
  beforeAll(async () => {
    // Builds the replica on a fresh machine, restarts it or its replication; returns once it caught up.
    await run(["scripts/services.ts", "replica"]);
    const readUrl = replicaUrl(config.databaseUrl);
    replica = mysql.createPool({ uri: readUrl, connectionLimit: 2, timezone: "Z" });
    redis = await ownRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 20 });
    env = {
      REDIS_URL: redis.url,
      REDIS_CLUSTER_NODES: "",
      DATABASE_READ_URL: readUrl,
      DATABASE_READ_WAIT_TIMEOUT_MS: "300",
      WORKER_SINKS: "mysql",
      WORKER_NAME: "replica-worker",
    };
    await run(["scripts/migrate.ts"], env); // the consumer groups on this Redis
    api = await startApi(env);
    worker = startWorker(env);
  }, 120_000);

  afterAll(async () => {
    // Whatever happened, the replica is left replicating.
    await replicaSql("START SLAVE").catch(() => {});
    await Promise.allSettled([api, worker, ...started].map((proc) => proc?.stop("SIGKILL")));
    client?.disconnect();
    await replica?.end();
    redis?.remove();
  });

  test("a lagging replica: reads come from it, writes stay in the overlay until it has them, then all agree", async () => {
    const token: string = (await call(api.url, "POST", "/applications", { name: "replica" })).json.token;
    // Applications are read from the primary: readable the moment they are created.
    expect((await call(api.url, "GET", `/applications/${token}`)).status).toBe(200);
    const chat = `/applications/${token}/chats/1`;
    expect((await call(api.url, "POST", `/applications/${token}/chats`, { name: "first" })).status).toBe(201);
    for (const body of ["m1", "m2", "m3"]) expect((await call(api.url, "POST", `${chat}/messages`, { body })).status).toBe(201);
    await drained(groups.mysql, 30_000, client);
    expect(await client.zcard(keys.pending(token, 1))).toBe(0);
    const app = await appId(token);
    expect(await snapshot("replica", "messages", app)).toEqual(await snapshot("primary", "messages", app));

    await replicaSql("STOP SLAVE");
    // Changed on the primary alone: the API does not see it, so it reads the replica.
    await rows("UPDATE messages SET body = 'changed on the primary only' WHERE application_id = ? AND chat_number = 1 AND number = 3", [app]);
    expect((await call(api.url, "GET", `${chat}/messages/3`)).json.body).toBe("m3");

    // Writes through the API while the replica lags: a create, an edit, a delete, a chat and a rename.
    expect((await call(api.url, "POST", `${chat}/messages`, { body: "m4" })).json.number).toBe(4);
    expect((await call(api.url, "PATCH", `${chat}/messages/1`, { body: "m1 edited" })).status).toBe(200);
    expect((await call(api.url, "DELETE", `${chat}/messages/2`)).status).toBe(204);
    expect((await call(api.url, "POST", `/applications/${token}/chats`, { name: "second" })).json.number).toBe(2);
    expect((await call(api.url, "PATCH", chat, { name: "renamed" })).status).toBe(200);

    // The worker commits the first of them to the primary, then holds that batch (it waits for the
    // replica, times out, retries it) and reads nothing more of this shard: the replica has none of it.
    await eventually(async () => ((await snapshot("primary", "messages", app)).some((m) => m.number === 4) ? true : undefined), 30_000, "the worker to commit message 4 to the primary");
    expect((await snapshot("replica", "messages", app)).map((m) => m.body)).toEqual(["m1", "m2", "m3"]);

    // Read-your-writes from the overlay over the lagging replica, for single reads and lists.
    expect((await call(api.url, "GET", `${chat}/messages/4`)).json.body).toBe("m4");
    expect((await call(api.url, "GET", `${chat}/messages/1`)).json.body).toBe("m1 edited");
    expect((await call(api.url, "GET", `${chat}/messages/2`)).status).toBe(404);
    expect(bodies(await call(api.url, "GET", `${chat}/messages`))).toEqual(["m1 edited", "m3", "m4"]);
    expect(bodies(await call(api.url, "GET", `${chat}/messages?order=desc&limit=2`))).toEqual(["m4", "m3"]);
    expect((await call(api.url, "GET", chat)).json.name).toBe("renamed");
    expect((await call(api.url, "GET", `/applications/${token}/chats/2`)).json.name).toBe("second");
    expect(names(await call(api.url, "GET", `/applications/${token}/chats`))).toEqual(["renamed", "second"]);
    // Why it holds them: its waits for the replica time out, and the batch is retried.
    await eventually(async () => (worker.output().includes("ReplicaBehind") ? true : undefined), 30_000, "the worker to log ReplicaBehind");
    expect(await client.zcard(keys.pending(token, 1))).toBe(3);
    expect(await client.zcard(keys.pendingChats(token))).toBe(2);

    await replicaSql("START SLAVE");
    await drained(groups.mysql, 60_000, client);
    expect(await client.zcard(keys.pending(token, 1))).toBe(0);
    expect(await client.zcard(keys.pendingChats(token))).toBe(0);

    // Everything released, so the replica has it all (and the primary-only change, committed before).
    expect(bodies(await call(api.url, "GET", `${chat}/messages`))).toEqual(["m1 edited", "changed on the primary only", "m4"]);
    expect((await call(api.url, "GET", `${chat}/messages/2`)).status).toBe(404);
    expect(names(await call(api.url, "GET", `/applications/${token}/chats`))).toEqual(["renamed", "second"]);
    expect((await call(api.url, "GET", chat)).json).toMatchObject({ name: "renamed", messages_count: 3 });
    for (const table of ["chats", "messages"] as const) expect(await snapshot("replica", table, app)).toEqual(await snapshot("primary", table, app));
  }, 120_000);

  test("DATABASE_READ_URL naming the primary itself: nothing to wait for, the worker drains as without it", async () => {
    // Another Redis db of the same server: this worker and API only.
    const own = { ...env, REDIS_URL: redis.url.replace(/\/0$/, "/1"), DATABASE_READ_URL: config.databaseUrl, WORKER_NAME: "same-server-worker" };
    const other = new Redis(own.REDIS_URL, { maxRetriesPerRequest: 20 });
    try {
      await run(["scripts/migrate.ts"], own);
      const sameApi = await startApi(own);
      started.push(sameApi, startWorker(own));
      const token: string = (await call(sameApi.url, "POST", "/applications", { name: "same server" })).json.token;
      expect((await call(sameApi.url, "POST", `/applications/${token}/chats`, {})).status).toBe(201);
      expect((await call(sameApi.url, "POST", `/applications/${token}/chats/1/messages`, { body: "hello" })).status).toBe(201);
      await drained(groups.mysql, 30_000, other);
      expect(await other.zcard(keys.pending(token, 1))).toBe(0);
      expect(bodies(await call(sameApi.url, "GET", `/applications/${token}/chats/1/messages`))).toEqual(["hello"]);
    } finally {
      other.disconnect();
    }
  }, 60_000);
});
