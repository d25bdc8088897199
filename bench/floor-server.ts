/**
 * A second baseline for create: the least a create can cost on this stack. A bare Elysia server
 * that validates the same JSON body, makes one ioredis script call (HINCRBY a counter, XADD the
 * message to a stream: a number and a queued write, nothing else) and answers 201 with the
 * message. What our create costs above this is our code; what this costs above the echo is Bun,
 * Elysia, ioredis and Redis doing one round trip (SPEC §8: a target may stay red only for that).
 */
import { Elysia, t } from "elysia";
import Redis from "ioredis";

const port = Number(process.env.PORT ?? 3905);
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379/3", { enableAutoPipelining: true });
redis.defineCommand("floorCreate", {
  numberOfKeys: 2,
  lua: "local n = redis.call('HINCRBY', KEYS[1], 'seq', 1)\nredis.call('XADD', KEYS[2], '*', 'n', n, 'b', ARGV[1])\nreturn n",
});
const create = (chat: string, body: string) => (redis as unknown as { floorCreate(...a: string[]): Promise<number> }).floorCreate(`floor:{f}:chat:${chat}`, "floor:{f}:stream", body);

new Elysia()
  .post(
    "/floor/:chat",
    async ({ params, body, set }) => {
      const number = await create(params.chat, body.body);
      const now = new Date().toISOString();
      set.status = 201;
      return { number, chat_number: Number(params.chat), body: body.body, created_at: now, updated_at: now };
    },
    { body: t.Object({ body: t.String({ minLength: 1, maxLength: 10_000 }) }) },
  )
  .listen(port);
console.log(`floor on ${port}`);
