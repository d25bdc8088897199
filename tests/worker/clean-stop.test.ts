/**
 * SPEC §6.7: a worker stopped with SIGTERM mid-load finishes and acknowledges what it has read,
 * reads nothing more, and exits 0 within 10 s; nothing it read stays pending. Twenty rounds, with
 * two CPU hogs beside them, because this used to fail once in a while under load.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { call, eventually } from "../support/http.ts";
import { sharedStack, startWorker, type Proc } from "../support/processes.ts";
import { appId, drained, pendingOf, rows } from "../support/stack.ts";

const ROUNDS = 20;
const PER_ROUND = 150;
const { apis, pauseWorkers, resumeWorkers } = await sharedStack();
const base = apis[0]!.url;
// A test that pauses the shared workers resumes them in its finally; this is the backstop.
afterAll(resumeWorkers);

/** The log lines (JSON) a process printed on stdout, in order. */
function logLines(proc: Proc): { msg: string }[] {
  return proc
    .stdout()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string });
}

async function exitWithin(proc: Proc, ms: number): Promise<number> {
  proc.proc.kill("SIGTERM");
  const code = await Promise.race([proc.proc.exited, Bun.sleep(ms).then(() => "still running" as const)]);
  if (code === "still running") throw new Error(`worker did not exit within ${ms} ms of SIGTERM:\n${proc.output().slice(-3000)}`);
  return proc.stop();
}

describe("clean stop", () => {
  test(`SIGTERM mid-load, ${ROUNDS} times beside two CPU hogs: exit 0 within 10 s, nothing read after the signal, nothing left pending`, async () => {
    const token = (await call(base, "POST", "/applications", { name: "sigterm" })).json.token as string;
    await call(base, "POST", `/applications/${token}/chats`, {});
    const hogs: Subprocess[] = [Bun.spawn(["yes"], { stdout: "ignore" }), Bun.spawn(["yes"], { stdout: "ignore" })];
    // The shared workers are paused between batches (everything acknowledged, no transaction open: a
    // transaction frozen with the chat's row lock would hold up the stopped workers' batches).
    await pauseWorkers("mysql", "search");
    let posted = 0;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const name = `terminated-${Date.now()}-${round}`;
        const worker = startWorker({ WORKER_NAME: name, WORKER_BATCH_SIZE: "20", WORKER_SINKS: "mysql,search", LOG_LEVEL: "debug" });
        let next = 0;
        const load = Promise.all(
          Array.from({ length: 8 }, async () => {
            while (next < PER_ROUND) {
              const i = next++;
              const res = await call(base, "POST", `/applications/${token}/chats/1/messages`, { body: `term ${round}-${i}` });
              if (res.status !== 201) throw new Error(`post answered ${res.status}: ${res.text}`);
            }
          }),
        );
        await eventually(async () => ((await pendingOf("mysql", name)) + (await pendingOf("search", name)) > 0 ? true : undefined), 20_000, `worker ${name} to hold a batch`, 2);
        expect(await exitWithin(worker, 10_000)).toBe(0);
        await load;
        posted += PER_ROUND;

        expect({ round, mysql: await pendingOf("mysql", name), search: await pendingOf("search", name) }).toEqual({ round, mysql: 0, search: 0 });
        const lines = logLines(worker).map((l) => l.msg);
        const stopAt = lines.indexOf("stopping after the batch in hand");
        expect(stopAt).toBeGreaterThan(-1);
        expect(lines.indexOf("reading")).toBeGreaterThan(-1);
        expect({ round, readsAfterStop: lines.slice(stopAt).filter((m) => m === "reading").length }).toEqual({ round, readsAfterStop: 0 });
      }
    } finally {
      for (const hog of hogs) hog.kill("SIGKILL");
      resumeWorkers();
    }
    // The shared workers take what the stopped ones never read: everything is persisted once.
    await drained("mysql", 60_000);
    const [row] = await rows("SELECT COUNT(*) n, COUNT(DISTINCT body) d FROM messages WHERE application_id = ? AND chat_number = 1", [await appId(token)]);
    expect({ n: Number(row!.n), d: Number(row!.d) }).toEqual({ n: posted, d: posted });
  });
});
