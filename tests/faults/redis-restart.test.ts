/**
 * Redis killed with SIGKILL under load and restarted from its AOF (everysec), on a Redis of the
 * test's own. Clients post steadily to two API processes and retry every refused write with its
 * Idempotency-Key until it is answered 201. Checked: no number the worker had persisted is handed
 * out again, nothing persisted is overwritten, everything answered after the restart is persisted
 * once; reported: answered, persisted, lost (answered, never persisted), duplicated.
 *
 * The second run also cuts the AOF back to where it stood a moment before the kill, as a host crash
 * does to the last second of an `everysec` AOF: the reloaded counters are then behind numbers the
 * worker had already persisted to MySQL although their keys exist, which the scripts must notice.
 */
import { afterAll, describe, expect, test } from "bun:test";
import Redis from "ioredis";
import { call, eventually } from "../support/http.ts";
import { startApi, startWorker, type Api, type Proc } from "../support/processes.ts";
import { ownRedis, truncateAof, type OwnRedis } from "../support/redis-server.ts";
import { appId, drained, rows } from "../support/stack.ts";

const servers: OwnRedis[] = [];
afterAll(() => servers.forEach((s) => s.remove()));

type Answer = { chat: number; number: number; body: string; after: boolean };
type Row = { chat: number; number: number; body: string };

async function persisted(id: number): Promise<Row[]> {
  return (await rows<Row>("SELECT chat_number chat, number, body FROM messages WHERE application_id = ?", [id])).map((r) => ({ chat: Number(r.chat), number: Number(r.number), body: r.body }));
}

async function migrate(env: Record<string, string>) {
  const proc = Bun.spawn(["bun", "scripts/migrate.ts"], { env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
  if ((await proc.exited) !== 0) throw new Error(`migrate failed: ${await new Response(proc.stderr).text()}`);
}

async function scenario(cutAof: boolean) {
  const redis = await ownRedis(["--auto-aof-rewrite-percentage", "0"]);
  servers.push(redis);
  const env = { REDIS_URL: redis.url };
  await migrate(env);
  const apis: Api[] = await Promise.all([startApi(env), startApi(env)]);
  const worker: Proc = startWorker({ ...env, WORKER_NAME: `restart-${Date.now()}` });
  const token = (await call(apis[0]!.url, "POST", "/applications", { name: "restart" })).json.token as string;
  for (let c = 0; c < 3; c++) await call(apis[0]!.url, "POST", `/applications/${token}/chats`, {});
  const id = await appId(token);

  const answers: Answer[] = [];
  let restarted = false;
  let stop = false;
  let beforeRestart: Row[] = [];
  const client = async (c: number) => {
    for (let i = 0; !stop; i++) {
      const body = `client ${c} write ${i} ${token.slice(0, 6)}`;
      const chat = (i % 3) + 1;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await call(apis[(c + i) % 2]!.url, "POST", `/applications/${token}/chats/${chat}/messages`, { body }, { "idempotency-key": `key-${c}-${i}-${token}` }).catch(() => undefined);
        if (res?.status === 201) {
          answers.push({ chat, number: res.json.number, body, after: restarted });
          break;
        }
        if (res && res.status !== 503) throw new Error(`a write answered ${res.status}: ${res.text}`);
        if (Date.now() > deadline) throw new Error(`a write was refused for 60 s: ${res?.text}`);
        await Bun.sleep(10);
      }
    }
  };
  const clients = Promise.all(Array.from({ length: 6 }, (_, c) => client(c)));
  try {
    await eventually(async () => (answers.length >= 200 ? true : undefined), 60_000, "200 answered writes");
    const mark = redis.aofTail();
    const answeredAtMark = answers.length;
    // The worker persists writes that come after the mark: those a cut AOF loses.
    await eventually(async () => ((await persisted(id)).length >= answeredAtMark + 150 ? true : undefined), 60_000, "the worker to persist 150 writes past the mark");
    await redis.kill();
    // Whatever the worker was committing when Redis died is in MySQL once the count stops moving.
    let last = -1;
    let still = 0;
    await eventually(async () => {
      const n = (await persisted(id)).length;
      still = n === last ? still + 1 : 0;
      last = n;
      return still >= 3 ? true : undefined;
    }, 30_000, "MySQL to stop changing after the kill", 200);
    beforeRestart = await persisted(id);
    if (cutAof) truncateAof(mark.file, mark.size);
    await redis.start();
    restarted = true;
    await eventually(async () => (answers.filter((a) => a.after).length >= 200 ? true : undefined), 60_000, "200 writes answered after the restart");
  } finally {
    stop = true;
    await clients;
  }
  const direct = new Redis(redis.url);
  await drained("mysql", 60_000, direct);
  direct.disconnect();
  await worker.stop();
  await Promise.all(apis.map((a) => a.stop()));

  const final = await persisted(id);
  const finalByNumber = new Map(final.map((r) => [`${r.chat}:${r.number}`, r.body]));
  const copies = new Map<string, number>();
  for (const r of final) copies.set(r.body, (copies.get(r.body) ?? 0) + 1);
  const figures = {
    answered: answers.length,
    persisted: final.length,
    lost: answers.filter((a) => !copies.has(a.body)).length,
    duplicated: [...copies.values()].filter((n) => n > 1).length,
  };
  console.log(`redis ${cutAof ? "SIGKILL + AOF cut back (host crash)" : "SIGKILL"} under load: ${JSON.stringify(figures)}`);

  // No number the worker had persisted is handed out again, and nothing persisted is overwritten.
  const persistedBefore = new Map(beforeRestart.map((r) => [`${r.chat}:${r.number}`, r.body]));
  const reissued = answers.filter((a) => persistedBefore.has(`${a.chat}:${a.number}`) && persistedBefore.get(`${a.chat}:${a.number}`) !== a.body);
  expect(reissued).toEqual([]);
  const overwritten = beforeRestart.filter((r) => finalByNumber.get(`${r.chat}:${r.number}`) !== r.body);
  expect(overwritten).toEqual([]);
  // Everything answered after the restart is persisted once, under the number it was given.
  const afterRestart = answers.filter((a) => a.after);
  expect(afterRestart.filter((a) => finalByNumber.get(`${a.chat}:${a.number}`) !== a.body || copies.get(a.body) !== 1)).toEqual([]);
  return figures;
}

describe("Redis restarted under load", () => {
  test("SIGKILL, restart from the AOF: no number handed out twice, nothing answered after the restart lost", async () => {
    const figures = await scenario(false);
    // A killed process loses nothing the kernel already has: the AOF was written before each answer.
    expect({ lost: figures.lost, duplicated: figures.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  });

  test("SIGKILL and the AOF's tail lost (a host crash): counters behind MySQL are caught, no persisted number is handed out again", async () => {
    const figures = await scenario(true);
    expect(figures.persisted).toBeGreaterThan(0);
  });
});
