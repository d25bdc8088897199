/**
 * Opaque keyset cursors of a fixed width, so every string of the documented pattern is a valid
 * position (past the end is simply an empty page) and anything else is a 400 at validation.
 * List cursors: the last row's key as 6 bytes → 8 base64url characters.
 * Search cursors: the last hit's score (float64) and number (uint32) → 16 base64url characters.
 */
import { asc, desc, gt, gte, lt, lte, type SQL } from "drizzle-orm";
import type { AnyMySqlColumn } from "drizzle-orm/mysql-core";
import { badRequest } from "../errors.ts";

export const LIST_CURSOR = /^[A-Za-z0-9_-]{8}$/;
export const SEARCH_CURSOR = /^[A-Za-z0-9_-]{16}$/;

export function encodeCursor(key: number): string {
  const bytes = Buffer.alloc(6);
  bytes.writeUIntBE(key, 0, 6);
  return bytes.toString("base64url");
}

export function decodeCursor(cursor: string): number {
  if (!LIST_CURSOR.test(cursor)) throw badRequest("invalid cursor");
  return Buffer.from(cursor, "base64url").readUIntBE(0, 6);
}

export function encodeSearchCursor(score: number, number: number): string {
  const bytes = Buffer.alloc(12);
  bytes.writeDoubleBE(score, 0);
  bytes.writeUInt32BE(number, 8);
  return bytes.toString("base64url");
}

export function decodeSearchCursor(cursor: string): { score: number; number: number } {
  if (!SEARCH_CURSOR.test(cursor)) throw badRequest("invalid cursor");
  const bytes = Buffer.from(cursor, "base64url");
  return { score: bytes.readDoubleBE(0), number: bytes.readUInt32BE(8) };
}

/** The conditions of one keyset page on `column`: past `after` (exclusive), up to `bound` (inclusive). */
export function keysetRange(column: AnyMySqlColumn, order: "asc" | "desc", after?: number, bound?: number): SQL[] {
  const out: SQL[] = [];
  if (after !== undefined) out.push(order === "asc" ? gt(column, after) : lt(column, after));
  if (bound !== undefined) out.push(order === "asc" ? lte(column, bound) : gte(column, bound));
  return out;
}

export const keysetOrder = (column: AnyMySqlColumn, order: "asc" | "desc") => (order === "asc" ? asc(column) : desc(column));
