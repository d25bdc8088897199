/** Path parameters: a token or number that cannot exist is simply not found (SPEC §3.5). */
import { notFound } from "../errors.ts";

const TOKEN = /^[A-Za-z0-9_-]{32}$/;
export const MAX_NUMBER = 2_147_483_647;

export function tokenParam(value: string): string {
  if (!TOKEN.test(value)) throw notFound("application");
  return value;
}

export function numberParam(value: string, what: "chat" | "message"): number {
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw notFound(what);
  const n = Number(value);
  if (n > MAX_NUMBER) throw notFound(what);
  return n;
}

export function newToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
}

/** Paths logged with their application token masked: tokens are secrets (the logger masks them too). */
export { redactPath } from "../../core/log.ts";
