/** Idempotency keys of POSTs (SPEC §5.1): the header's rules and what makes two requests the same. */
import { createHash } from "node:crypto";
import { badRequest } from "../errors.ts";

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
