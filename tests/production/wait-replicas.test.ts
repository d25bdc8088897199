/**
 * SPEC §4.6, REDIS_WAIT_REPLICAS, on the Redis Cluster pass of test:all (3 masters, one replica
 * each): with 1, creates, updates and deletes answer once their master's replica holds them; with 2
 * (more replicas than a master has) they answer 503 `replication_timeout`, yet the write was made, so
 * a retry with the same Idempotency-Key gets the original answer.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { call, errorCode } from "../support/http.ts";
import { sharedStack, startApi, type Api } from "../support/processes.ts";
import { drained } from "../support/stack.ts";

await sharedStack(); // its worker persists what is posted here

const started: Api[] = [];
afterAll(async () => {
  await Promise.all(started.map((api) => api.stop("SIGKILL")));
});

async function api(replicas: number): Promise<string> {
  const proc = await startApi({ REDIS_WAIT_REPLICAS: String(replicas), REDIS_WAIT_TIMEOUT_MS: "200" });
  started.push(proc);
  return proc.url;
}

describe.if(!!process.env.REDIS_CLUSTER_NODES)("REDIS_WAIT_REPLICAS on a cluster", () => {
  test("1 replica: writes are answered; more than a master has: 503 replication_timeout, and the retry gets the original", async () => {
    const [one, two] = await Promise.all([api(1), api(2)]);
    const token = (await call(one, "POST", "/applications", { name: "wait" })).json.token as string;
    // Also when the message was persisted meanwhile (the delete reads its row first: NEEDROW, then the write).
    expect((await call(one, "POST", `/applications/${token}/chats`, {})).status).toBe(201);
    const path = `/applications/${token}/chats/1/messages`;
    expect((await call(one, "POST", path, { body: "confirmed by a replica" })).json.number).toBe(1);
    expect((await call(one, "PATCH", `${path}/1`, { body: "edited, confirmed" })).status).toBe(200);

    const refused = await call(two, "POST", path, { body: "not confirmed" }, { "idempotency-key": `wait-${token}` });
    expect(refused.status).toBe(503);
    expect(errorCode(refused)).toBe("replication_timeout");
    expect(refused.headers.get("retry-after")).toBe("1");
    await drained();
    expect((await call(two, "DELETE", `${path}/1`)).status).toBe(503);

    const retried = await call(one, "POST", path, { body: "not confirmed" }, { "idempotency-key": `wait-${token}` });
    expect({ status: retried.status, number: retried.json.number, replayed: retried.headers.get("idempotent-replayed") }).toEqual({ status: 201, number: 2, replayed: "true" });
    // The refused delete was made too: the message is gone.
    expect((await call(one, "GET", `${path}/1`)).status).toBe(404);
  });
});
