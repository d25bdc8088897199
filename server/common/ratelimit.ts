/**
 * Per-token rate limiting (RATE_LIMIT_PER_MINUTE; off when unset). Chat and message creates take
 * their token inside the create script (one round trip); the routes under a token register this
 * hook after their create route, so every other request under a token takes one here.
 */
import type { Deps } from "../deps.ts";
import { rateLimited } from "../errors.ts";

/** A 429 with Retry-After and the RateLimit-* headers. */
export function rateLimitError(waitMs: number, limit: number) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return rateLimited(seconds, { "ratelimit-limit": String(limit), "ratelimit-remaining": "0", "ratelimit-reset": String(seconds) });
}

type HookContext = { params?: Record<string, string | undefined>; set: { headers: Record<string, unknown> } };

/**
 * A beforeHandle hook that takes one request from the bucket of the route's `:token`. Off, it is a
 * plain function: Elysia awaits an async hook on every request, a promise and a turn for nothing.
 */
export function rateLimit({ config, scripts }: Deps): (context: HookContext) => Promise<void> | void {
  const limit = config.rateLimitPerMinute;
  if (!limit) return () => {};
  return async ({ params, set }) => {
    const token = params?.token;
    if (!token) return;
    const { allowed, remaining, waitMs } = await scripts.rateLimit({ token, perMinute: limit });
    if (!allowed) throw rateLimitError(waitMs, limit);
    set.headers["ratelimit-limit"] = String(limit);
    set.headers["ratelimit-remaining"] = String(remaining);
    set.headers["ratelimit-reset"] = String(Math.ceil(waitMs / 1000));
  };
}
