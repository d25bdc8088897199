/** Opaque keyset cursors: base64url of a small JSON array of the last row's sort key. */
import { badRequest } from "../errors.ts";

export function encodeCursor(key: (number | string)[]): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** Decodes a cursor made by encodeCursor with `arity` integer parts; anything else is a 400. */
export function decodeCursor(cursor: string, arity: number): number[] {
  const invalid = () => badRequest("invalid cursor");
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== arity) throw invalid();
  if (!parsed.every((v) => Number.isSafeInteger(v) && v >= 0)) throw invalid();
  return parsed as number[];
}
