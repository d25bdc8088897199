/**
 * Reads under a backlog (SPEC §6.5, §8): a chat with BENCH_BACKLOG (default 1,000,000) accepted,
 * not yet persisted messages beside a chat with none pending. The backlog is queued by calling the
 * create script the API calls (same keys, same arguments), pipelined, so that a million writes take
 * seconds instead of minutes; no worker runs meanwhile. Reports get and list p99 on both chats and
 * the Redis bytes per pending message (INFO used_memory before and after).
 */
import { keysFor } from "../core/keys.ts";
import { createRedis } from "../core/redis/client.ts";
import { queueMessages } from "./drains.ts";
import { closedLoop, percentile } from "./load.ts";
import { addRow } from "./table.ts";

const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);

export async function backlogScenario(opts: { redisUrl: string; api: string; token: string; idle: number; busy: number; log: (msg: string) => void }) {
  const { redisUrl, api, token, idle, busy, log } = opts;
  const redis = createRedis({ redisUrl, redisClusterNodes: null }, { enableOfflineQueue: true });
  const keys = keysFor(4);
  const used = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
  const body = "alpha bravo backlog message with a few words, about sixty bytes";
  log(`queueing ${BACKLOG} pending messages in chat ${busy}`);
  const before = await used();
  await queueMessages(redis, token, busy, BACKLOG, () => body);
  const perMessage = ((await used()) - before) / BACKLOG;
  const pending = await redis.zcard(keys.pending(token, busy));
  redis.disconnect();

  const base = `${api}/applications/${token}/chats`;
  const reads = (chat: number, top: number) => ({
    get: () => closedLoop(5000, 16, (i) => fetch(`${base}/${chat}/messages/${top - (i % 1000)}`).then((r) => r.arrayBuffer())),
    list: () => closedLoop(5000, 16, () => fetch(`${base}/${chat}/messages?limit=25&order=desc`).then((r) => r.arrayBuffer())),
  });
  const idleTop = Number(((await fetch(`${base}/${idle}/messages?limit=1&order=desc`).then((r) => r.json())) as { data: { number: number }[] }).data[0]?.number ?? 1);
  const quiet = reads(idle, idleTop);
  const loaded = reads(busy, pending);
  const [getIdle, getBusy, listIdle, listBusy] = [await quiet.get(), await loaded.get(), await quiet.list(), await loaded.list()];
  // SPEC §8: p99 ≤ 5 ms with 0 and with the backlog pending: the row passes when both do.
  const both = (busyLat: number[], idleLat: number[]) => percentile(busyLat, 99) <= 5 && percentile(idleLat, 99) <= 5;
  addRow(`get message p99, ${pending.toLocaleString("en-US")} pending vs 0 (ms)`, percentile(getBusy, 99), percentile(getIdle, 99), "≤ 5 ms, both", both(getBusy, getIdle), "ms");
  addRow(`list page p99, ${pending.toLocaleString("en-US")} pending vs 0 (ms)`, percentile(listBusy, 99), percentile(listIdle, 99), "≤ 5 ms, both", both(listBusy, listIdle), "ms");
  // The baseline column shows the target itself: 2× body + 300.
  const target = 2 * Buffer.byteLength(body) + 300;
  addRow(`Redis bytes per pending message (${Buffer.byteLength(body)}-byte body)`, perMessage, target, `≤ 2× body + 300 = ${target}`, perMessage <= target, "bytes");
}
