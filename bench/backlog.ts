/**
 * Reads under a backlog (SPEC §6.5, §8): a chat with BENCH_BACKLOG (default 1,000,000) accepted,
 * not yet persisted messages beside a chat with none pending (get and list p99 at a constant rate,
 * open loop: reads.ts readRows). The backlog is queued by calling the
 * create script the API calls (same keys, same arguments), pipelined, so that a million writes take
 * seconds instead of minutes; no worker runs meanwhile. Reports get and list p99 on both chats and
 * the Redis bytes per pending message (INFO used_memory before and after).
 */
import { keysFor } from "../core/keys.ts";
import { createRedis } from "../core/redis/client.ts";
import { queueMessages } from "./drains.ts";
import { readRows } from "./reads.ts";
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
  const idleTop = Number(((await fetch(`${base}/${idle}/messages?limit=1&order=desc`).then((r) => r.json())) as { data: { number: number }[] }).data[0]?.number ?? 1);
  // The 1,000 newest messages of each chat: pending ones in the busy chat, persisted in the idle one.
  const gets = (chat: number, top: number) => Array.from({ length: 1000 }, (_, i) => ({ url: `${base}/${chat}/messages/${top - i}` }));
  const list = (chat: number) => [{ url: `${base}/${chat}/messages?limit=25&order=desc` }];
  // SPEC §8: p99 ≤ 5 ms with 0 and with the backlog pending: the rows pass when both do.
  await readRows({ label: `, ${pending.toLocaleString("en-US")} pending vs 0`, get: gets(busy, pending), list: list(busy), baseline: { name: "0 pending", get: gets(idle, idleTop), list: list(idle) }, bothUnder5: true });
  // The baseline column shows the target itself: 2× body + 300.
  const target = 2 * Buffer.byteLength(body) + 300;
  addRow(`Redis bytes per pending message (${Buffer.byteLength(body)}-byte body)`, perMessage, target, `≤ 2× body + 300 = ${target}`, perMessage <= target, "bytes");
}
