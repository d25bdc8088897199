import { expect, test } from "bun:test";
import { safeTrimPoint } from "../../worker/consumer.ts";
import { redisClient } from "../support/stack.ts";

test("trimming keeps every entry that some group has not acknowledged", async () => {
  const redis = redisClient();
  const stream = `trim-test:{t}:${Date.now()}`;
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await redis.xadd(stream, "*", "i", String(i)))!);
  await redis.xgroup("CREATE", stream, "fast", "0");
  await redis.xgroup("CREATE", stream, "slow", "0");
  await redis.xreadgroup("GROUP", "fast", "c", "COUNT", 10, "STREAMS", stream, ">");
  await redis.xack(stream, "fast", ...ids);
  await redis.xreadgroup("GROUP", "slow", "c", "COUNT", 5, "STREAMS", stream, ">");
  await redis.xack(stream, "slow", ids[0]!, ids[1]!, ids[2]!);

  // "slow" still holds entries 3 and 4, and has not read 5..9.
  const point = await safeTrimPoint(redis, stream, ["fast", "slow"]);
  expect(point).toBe(ids[3]);
  await redis.xtrim(stream, "MINID", point!);
  const left = (await redis.xrange(stream, "-", "+")).map(([id]) => id);
  expect(left).toEqual(ids.slice(3));

  // A group that does not exist yet would read from the start: nothing may be trimmed.
  expect(await safeTrimPoint(redis, stream, ["fast", "slow", "missing"])).toBeUndefined();
  await redis.del(stream);
});
