/**
 * Per-token rate limiting (RATE_LIMIT_PER_MINUTE; off when unset). Chat and message creates take
 * their token inside the create script (one round trip); every other request under a token takes it
 * here, with one `rate_limit` script call.
 */
import { Elysia } from "elysia";
import type { Deps } from "../deps.ts";
import { rateLimitError } from "./writes.ts";

const underToken = /^\/api\/v1\/applications\/([A-Za-z0-9_-]{32})(\/.*)?$/;
const createdInScript = /^\/chats(\/[^/]+\/messages)?\/?$/;

export function rateLimiter({ config, redis, keys }: Deps) {
  const limit = config.rateLimitPerMinute;
  const plugin = new Elysia({ name: "rate-limit" });
  if (!limit) return plugin;
  return plugin.onBeforeHandle({ as: "global" }, async ({ request, path, set }) => {
    const match = underToken.exec(path);
    if (!match) return;
    if (request.method === "POST" && createdInScript.test(match[2] ?? "")) return;
    const [allowed, remaining, wait] = (await redis.scripts.rate_limit([keys.rateLimit(match[1]!)], [limit])) as [number, number, number];
    if (!allowed) throw rateLimitError(wait, limit);
    set.headers["ratelimit-limit"] = String(limit);
    set.headers["ratelimit-remaining"] = String(remaining);
    set.headers["ratelimit-reset"] = String(Math.ceil(wait / 1000));
  });
}
