/** Idempotency keys of POSTs (SPEC §5.1): the header's rules and what makes two requests the same. */
import { createHash } from "node:crypto";
import { badRequest, conflict } from "../errors.ts";
import type { RedisClient } from "../../core/redis/client.ts";
import { IDEMPOTENCY_TTL_SECONDS } from "../../core/redis/scripts.ts";

/** Validates an Idempotency-Key header: 1..255 visible ASCII characters. */
export function idempotencyKey(header: string | null | undefined): string | undefined {
  if (header === null || header === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw badRequest("Idempotency-Key must be 1..255 visible ASCII characters");
  }
  return header;
}

/** What makes two requests "the same" for an idempotency key: method, path and body. */
export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash("sha256").update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest("base64url");
}

/** The request's Idempotency-Key with the fingerprint of its body, or undefined without one. */
export function idempotencyOf(request: Request, path: string, body: unknown): { key: string; fingerprint: string } | undefined {
  const key = idempotencyKey(request.headers.get("idempotency-key"));
  return key ? { key, fingerprint: fingerprint("POST", path, body) } : undefined;
}

/**
 * Runs a create that writes MySQL directly (applications, webhook endpoints) at most once per key:
 * the first request claims the record ("pending"), creates, and stores its response ("done"); a
 * repeat gets that response; a concurrent repeat waits for it; another body under the key is a 409.
 */
export async function once<T>(redis: RedisClient, record: string, fingerprint: string, create: () => Promise<T>): Promise<{ replayed: boolean; value: T }> {
  const claimed = await redis.set(record, `pending|${fingerprint}`, "EX", IDEMPOTENCY_TTL_SECONDS, "NX");
  if (claimed) {
    try {
      const value = await create();
      await redis.set(record, `done|${fingerprint}|${JSON.stringify(value)}`, "EX", IDEMPOTENCY_TTL_SECONDS);
      return { replayed: false, value };
    } catch (error) {
      await redis.del(record).catch(() => {});
      throw error;
    }
  }
  for (let waited = 0; waited < 10_000; waited += 50) {
    const value = (await redis.get(record)) ?? "";
    const [state, fp] = value.split("|", 2);
    if (fp !== undefined && fp !== fingerprint) throw conflict("this Idempotency-Key was used with a different request");
    if (state === "done") return { replayed: true, value: JSON.parse(value.slice(value.indexOf("|", 5) + 1)) as T };
    if (!value) return once(redis, record, fingerprint, create);
    await Bun.sleep(50);
  }
  throw conflict("a request with this Idempotency-Key is still in progress");
}
