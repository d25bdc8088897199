import { afterAll, beforeAll, expect, test } from "bun:test";
import { call, errorCode } from "../support/http.ts";
import { startApi, type Api } from "../support/processes.ts";

let apis: Api[];
beforeAll(async () => {
  apis = await Promise.all([startApi({ RATE_LIMIT_PER_MINUTE: "10" }), startApi({ RATE_LIMIT_PER_MINUTE: "10" })]);
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
});

test("per-token limit shared by all processes: 429 with Retry-After and RateLimit headers", async () => {
  const [a, b] = apis.map((x) => x.url) as [string, string];
  const token = (await call(a, "POST", "/applications", { name: "limited" })).json.token;
  const statuses: number[] = [];
  let limited: Awaited<ReturnType<typeof call>> | undefined;
  for (let i = 0; i < 14; i++) {
    const res = i % 3 === 0 ? await call(i % 2 ? a : b, "POST", `/applications/${token}/chats`, {}) : await call(i % 2 ? a : b, "GET", `/applications/${token}`);
    statuses.push(res.status);
    if (res.status === 429) limited ??= res;
  }
  expect(statuses.filter((s) => s !== 429).length).toBe(10);
  expect(limited).toBeDefined();
  expect(errorCode(limited!)).toBe("rate_limited");
  expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(limited!.headers.get("ratelimit-limit")).toBe("10");
  expect(limited!.headers.get("ratelimit-remaining")).toBe("0");

  // Another application has its own bucket; a refused create allocated no number.
  const other = (await call(a, "POST", "/applications", { name: "free" })).json.token;
  expect((await call(b, "GET", `/applications/${other}`)).status).toBe(200);
  await Bun.sleep(6500); // one token back at 10/minute
  const chat = await call(a, "POST", `/applications/${token}/chats`, {});
  expect(chat.status).toBe(201);
  expect(chat.json.number).toBe(statuses.filter((s, i) => i % 3 === 0 && s === 201).length + 1);
}, 30_000);
