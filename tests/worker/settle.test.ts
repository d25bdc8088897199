/**
 * The consumer's settling (worker/consumer.ts) against the real Redis: a sink's follow-up runs before
 * its batch is acknowledged, while the next batch is applied; a follow-up that fails leaves its batch
 * pending and has it applied again, so nothing is acknowledged that was not settled.
 */
import { expect, test } from "bun:test";
import { createLogger } from "../../core/log.ts";
import { StreamConsumer, type Entry } from "../../worker/consumer.ts";
import { createRedis } from "../../core/redis/client.ts";
import { eventually } from "../support/http.ts";
import { config } from "../support/stack.ts";

test("a batch is acknowledged only once its follow-up succeeded; a failed follow-up has the batch applied again", async () => {
  // Connections of its own, as the worker's: the blocking read holds one.
  const redis = createRedis(config, { enableOfflineQueue: true, maxRetriesPerRequest: 20 });
  const blocking = createRedis(config, { enableOfflineQueue: true, maxRetriesPerRequest: 20 });
  const stream = `settle-test:{t}:${Date.now()}`;
  const total = 50;
  for (let i = 0; i < total; i++) await redis.xadd(stream, "*", "i", String(i));
  await redis.xgroup("CREATE", stream, "g", "0");

  const applied: number[][] = [];
  const settled: number[][] = [];
  /** Pending entries of the group when each follow-up started: its batch must still be among them. */
  const pendingAtFollowUp: number[] = [];
  let failNext = true;
  const consumer = new StreamConsumer<number>({
    redis,
    blocking,
    streams: [stream],
    allGroups: ["g"],
    consumer: "c1",
    deadLetter: `${stream}:dead`,
    batchSize: 10,
    blockMs: 100,
    claimIdleMs: 60_000,
    maxDeliveries: 5,
    retryBaseMs: 10,
    retryMaxMs: 50,
    trimIntervalMs: 3_600_000,
    stopTimeoutMs: 5_000,
    log: createLogger("error", { service: "test" }),
    decode: (entry: Entry) => Number(entry.fields[1]),
    sink: {
      name: "test",
      group: "g",
      isTransient: () => true,
      async handle(items) {
        applied.push(items);
        return async () => {
          pendingAtFollowUp.push(Number(((await redis.xpending(stream, "g")) as [number])[0]));
          // The second batch's first follow-up fails: that batch must be applied and settled again.
          if (items[0] === 10 && failNext) {
            failNext = false;
            throw new Error("follow-up failed");
          }
          settled.push(items);
        };
      },
    },
  });
  const running = consumer.start();
  await eventually(
    async () => (settled.flat().length >= total && Number(((await redis.xpending(stream, "g")) as [number])[0]) === 0 ? true : undefined),
    30_000,
    "every entry settled and acknowledged",
    20,
  );
  await consumer.stop();
  await running;

  // Every entry settled exactly once; the batch whose follow-up failed was applied twice.
  expect(settled.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  expect(applied.filter((batch) => batch[0] === 10).length).toBe(2);
  // A follow-up always ran before its batch was acknowledged: the batch was still pending then.
  expect(pendingAtFollowUp.every((pending) => pending >= 10)).toBe(true);
  await redis.del(stream, `${stream}:dead`);
  redis.disconnect();
  blocking.disconnect();
});
