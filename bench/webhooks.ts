/**
 * The webhooks scenarios (issue 14, SPEC §5.7): what the `webhooks` consumer group costs per message
 * when the application has no endpoint (every deployment pays it), and deliveries/s with CPU per
 * delivery to one local receiver. Each drains `count` queued messages with a worker running only the
 * webhooks sink; the create path is the same either way (the create script knows nothing of webhooks).
 */
import type Redis from "ioredis";
import type { RedisClient } from "../core/redis/client.ts";
import { meter, perOp, sum, type Pids } from "./cpu.ts";
import { log, spawn, stop, up } from "./harness.ts";
import { drainEverything, messageBody, queueMessages } from "./drains.ts";
import { waitDrained } from "./streams.ts";
import { addRow } from "./table.ts";

type Post = (path: string, body: unknown) => Promise<any>;
const RECEIVER = "http://127.0.0.1:3903";

async function webhooksWorker(o: { redis: Redis; redisPids: Pids; extra?: Pids; until: () => Promise<void> }) {
  const started = performance.now();
  const worker = spawn("worker/main.ts", { WORKER_SINKS: "webhooks", WORKER_NAME: "bench-webhooks" });
  const cpu = meter({ worker: worker.pid, ...o.redisPids, ...o.extra });
  await o.until();
  const seconds = (performance.now() - started) / 1000;
  const used = cpu.stop();
  await stop(worker);
  return { seconds, used };
}

export async function webhookScenarios(o: { post: Post; redis: Redis; queuer: RedisClient; redisPids: Pids; count: number }) {
  const { post, redis, queuer, redisPids, count } = o;
  log("webhooks: the group catches up with what earlier scenarios queued (not measured)");
  await webhooksWorker({ redis, redisPids, until: () => waitDrained(redis, ["webhooks"]) });

  // No endpoint: read, look up the (empty) registry, acknowledge.
  const quiet = (await post("/applications", { name: "bench webhooks, no endpoint" })).token as string;
  await post(`/applications/${quiet}/chats`, {});
  await queueMessages(queuer, quiet, 1, count, messageBody);
  const none = await webhooksWorker({ redis, redisPids, until: () => waitDrained(redis, ["webhooks"]) });
  addRow("webhooks group, no endpoint: worker + Redis CPU per message (µs)", perOp(sum(none.used), count), NaN, "info", true, "µs", { cpuSeconds: none.used, messages: count });

  // One endpoint, subscribed to everything, on a local receiver.
  const receiver = spawn("bench/webhook-receiver.ts", { PORT: "3903" });
  await up(`${RECEIVER}/count`);
  const loud = (await post("/applications", { name: "bench webhooks, one endpoint" })).token as string;
  const endpoint = await post(`/applications/${loud}/webhooks`, { url: `${RECEIVER}/hook` });
  if (!endpoint.id) throw new Error(`webhook endpoint not created: ${JSON.stringify(endpoint)}`);
  await post(`/applications/${loud}/chats`, {});
  const received = async () => Number(await (await fetch(`${RECEIVER}/count`)).text());
  const before = await received();
  await queueMessages(queuer, loud, 1, count, messageBody);
  const one = await webhooksWorker({
    redis,
    redisPids,
    extra: { receiver: receiver.pid },
    until: async () => {
      while ((await received()) - before < count) await Bun.sleep(50);
      await waitDrained(redis, ["webhooks"]);
    },
  });
  await stop(receiver);
  const ours = sum(one.used, ["worker", ...Object.keys(redisPids)]);
  addRow("webhook deliveries/s to one local receiver", count / one.seconds, NaN, "info", true, "ratio", { deliveries: count, seconds: one.seconds });
  addRow("webhooks group, one endpoint: worker + Redis CPU per delivery (µs)", perOp(ours, count), perOp(sum(none.used), count), "info", true, "µs", { cpuSeconds: one.used, receiverUs: perOp(one.used.receiver ?? 0, count) });
  // The MySQL and search groups have not read these messages: drained now, or the scenarios after this one would start behind.
  await drainEverything(redis);
}
