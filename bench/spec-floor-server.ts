/**
 * A third baseline for create: the least a create can cost on this stack while doing what SPEC §4.1
 * and §5.2 ask of every create, written outside the API's code. A bare Elysia server validates the
 * same JSON body and makes one ioredis script call that checks the chat exists, allocates the
 * number (HINCRBY), reads the clock, keeps the message for read-your-writes (ZADD to the chat's
 * sorted set by number, as any GET-before-the-worker must find it), queues the write (XADD of what
 * a sink needs, as our events carry it: one field, application, chat, number and time, then the
 * body) and publishes it only when someone listens (EXISTS); then it answers 201 with the
 * message. No idempotency key is sent (as in the
 * bench's load), no rate limit, no hooks, no metrics. What our create costs above this is our code;
 * what this costs above the echo is Bun, Elysia, ioredis and Redis doing the required work.
 */
// As in the API: without it ioredis traces every command on Bun, listened to or not (the shim's comment says why).
import "../core/runtime/tracing-channel.ts";
import { RedisClient } from "bun";
import { Elysia, t } from "elysia";
import Redis from "ioredis";

const port = Number(process.env.PORT ?? 3906);
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379/3";
// KEYS: chat hash, stream, overlay, watch; ARGV: application id, chat number, body.
const lua = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local n = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[3], n, n .. '|' .. ms .. '|' .. ARGV[3])
local id = redis.call('XADD', KEYS[2], '*', 'e', ARGV[1] .. '|' .. ARGV[2] .. '|' .. n .. '|' .. ms .. '|' .. ARGV[3])
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('PUBLISH', KEYS[4], id .. '|' .. ARGV[3]) end
return {n, ms}`;
const keysOf = (chat: string) => [`spec:{f}:chat:${chat}`, "spec:{f}:stream", `spec:{f}:overlay:${chat}`, `spec:{f}:watch:${chat}`];

/**
 * The script call, over ioredis (the stack's client, auto-pipelined, as the API's); or, with
 * REDIS_CLIENT=bun, over Bun's own native Redis client (which pipelines by itself): not our stack,
 * measured once to say what a cheaper client would move (bench/README.md).
 */
async function connect(): Promise<{ create(chat: string, body: string): Promise<[number, number]>; seed(chat: string): Promise<unknown> }> {
  if (process.env.REDIS_CLIENT === "bun") {
    const client = new RedisClient(url);
    const sha = String(await client.send("SCRIPT", ["LOAD", lua]));
    return {
      create: (chat, body) => client.send("EVALSHA", [sha, "4", ...keysOf(chat), "1", chat, body]) as Promise<[number, number]>,
      seed: (chat) => client.send("HSET", [`spec:{f}:chat:${chat}`, "seq", "0"]),
    };
  }
  const redis = new Redis(url, { enableAutoPipelining: true });
  redis.defineCommand("specCreate", { numberOfKeys: 4, lua });
  const call = redis as unknown as { specCreate(...a: string[]): Promise<[number, number]> };
  return { create: (chat, body) => call.specCreate(...keysOf(chat), "1", chat, body), seed: (chat) => redis.hset(`spec:{f}:chat:${chat}`, "seq", 0) };
}
const { create, seed } = await connect();

// The chats exist before the load, as the API's do.
await Promise.all(Array.from({ length: 50 }, (_, i) => seed(String(i + 1))));
new Elysia()
  .post(
    "/spec/:chat",
    async ({ params, body, set }) => {
      const [number, ms] = await create(params.chat, body.body);
      if (!number) return ((set.status = 404), { error: { code: "not_found", message: "chat not found" } });
      const at = new Date(ms).toISOString();
      set.status = 201;
      return { number, chat_number: Number(params.chat), body: body.body, created_at: at, updated_at: at };
    },
    { body: t.Object({ body: t.String({ minLength: 1, maxLength: 10_000 }) }) },
  )
  .listen(port);
console.log(`spec floor on ${port}`);
// A clean exit on SIGTERM, so that `bun --cpu-prof` writes its profile (bench:profile).
process.on("SIGTERM", () => process.exit(0));
