/**
 * Text rules of SPEC §3.5, counted in Unicode code points (TypeBox's maxLength counts UTF-16
 * units), registered as TypeBox formats so the route schemas enforce them and OpenAPI shows them;
 * and how numbers are written in query strings.
 */
import { FormatRegistry } from "@sinclair/typebox";

export const NAME_MAX = 255;
export const BODY_MAX = 10_000;

function codePoints(value: string, max: number): number {
  let n = 0;
  for (const _ of value) if (++n > max) break;
  return n;
}

// C0 controls; a message body may keep tab, line feed and carriage return.
const nameForbidden = /[\u0000-\u001f]/;
const bodyForbidden = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

export function isValidName(value: string): boolean {
  return value.isWellFormed() && value.trim() !== "" && !nameForbidden.test(value) && codePoints(value, NAME_MAX) <= NAME_MAX;
}

export function isValidBody(value: string): boolean {
  return value.isWellFormed() && value.trim() !== "" && !bodyForbidden.test(value) && codePoints(value, BODY_MAX) <= BODY_MAX;
}

/**
 * `date-time`, as every timestamp this API sends is written (`toISOString`, or an RFC 3339 offset).
 * Elysia's own check tries four patterns, and then `new Date()`, on every timestamp of every response
 * it validates: about a tenth of a create's API CPU for two timestamps.
 */
const RFC3339 = /^\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d(?:\.\d+)?(?:Z|[+-][0-2]\d:[0-5]\d)$/;
export const isDateTime = (value: string) => RFC3339.test(value);

FormatRegistry.Set("date-time", isDateTime);
FormatRegistry.Set("name", isValidName);
FormatRegistry.Set("message-body", isValidBody);
// Elysia checks a number in a query string with this format, by default as whatever Number() reads
// (`0x10`, `1e1`, ` 5`, `0b1`); the API's numbers are written in decimal digits.
FormatRegistry.Set("integer", (value) => /^-?[0-9]{1,16}$/.test(value));
