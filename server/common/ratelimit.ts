/**
 * Per-token rate limiting (RATE_LIMIT_PER_MINUTE; off when unset). Chat and message creates take
 * their token inside the create script (one round trip); every other request under a token takes it
 * here, with one `rate_limit` script call.
 */
import { Elysia } from "elysia";
import type { Deps } from "../deps.ts";
import { rateLimited } from "../errors.ts";

const underToken = /^\/api\/v1\/applications\/([A-Za-z0-9_-]{32})(\/.*)?$/;
const createdInScript = /^\/chats(\/[^/]+\/messages)?\/?$/;

/** A 429 with Retry-After and the RateLimit-* headers. */
export function rateLimitError(waitMs: number, limit: number) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return rateLimited(seconds, { "ratelimit-limit": String(limit), "ratelimit-remaining": "0", "ratelimit-reset": String(seconds) });
}

export function rateLimiter({ config, scripts }: Deps) {
  const limit = config.rateLimitPerMinute;
  const plugin = new Elysia({ name: "rate-limit" });
  if (!limit) return plugin;
  return plugin.onBeforeHandle({ as: "global" }, async ({ request, path, set }) => {
    const match = underToken.exec(path);
    if (!match) return;
    if (request.method === "POST" && createdInScript.test(match[2] ?? "")) return;
    const { allowed, remaining, waitMs } = await scripts.rateLimit({ token: match[1]!, perMinute: limit });
    if (!allowed) throw rateLimitError(waitMs, limit);
    set.headers["ratelimit-limit"] = String(limit);
    set.headers["ratelimit-remaining"] = String(remaining);
    set.headers["ratelimit-reset"] = String(Math.ceil(waitMs / 1000));
  });
}
