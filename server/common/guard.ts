/**
 * Checks of what no route schema covers, on every request before routing (SPEC §3.5: malformed
 * parameters are 400):
 * - the query string decodes to valid UTF-8 without control characters (Elysia would pass `%FF` on
 *   as U+FFFD);
 * - no parameter is given twice (which one would count?), and none is named after an
 *   Object.prototype member, also in the `a[b]` / `a.b` forms that some frameworks expand;
 * - `Last-Event-ID` (and the WebSocket's `?last_event_id=`), when not empty, is an event id within
 *   Redis's range: one past it failed the replay after the stream had been answered 200.
 */
import { Elysia } from "elysia";
import { badRequest } from "../errors.ts";
import { fieldName, formPairs, hasForbiddenPart } from "./input.ts";

const CONTROL = /[\u0000-\u001f\u007f]/;
const U64_MAX = 2n ** 64n - 1n;

export function isEventId(id: string): boolean {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  if (!match) return false;
  const ms = BigInt(match[1]!);
  const seq = BigInt(match[2]!);
  // The replay reads from just after the id: the largest id has nothing after it.
  return ms <= U64_MAX && seq <= U64_MAX && !(ms === U64_MAX && seq === U64_MAX);
}

export function checkQuery(query: string): void {
  const pairs = formPairs(query);
  if (!pairs) throw badRequest("the query string is not valid UTF-8 once percent-decoded");
  const seen = new Set<string>();
  for (const [name, value] of pairs) {
    if (CONTROL.test(name) || CONTROL.test(value)) throw badRequest("query parameters may not contain control characters");
    if (hasForbiddenPart(name)) throw badRequest("a query parameter name is not allowed (it shadows an Object.prototype member, or is then/toJSON)");
    if (seen.has(name)) throw badRequest(`query parameter ${fieldName(name)} is given more than once`);
    seen.add(name);
    if (name === "last_event_id" && value !== "" && !isEventId(value)) throw badRequest("last_event_id is not an event id");
  }
}

export const requestGuard = new Elysia({ name: "request-guard" }).onRequest(({ request }) => {
  const url = request.url;
  const start = url.indexOf("?");
  if (start >= 0 && start < url.length - 1) checkQuery(url.slice(start + 1));
  const lastEventId = request.headers.get("last-event-id");
  if (lastEventId !== null && lastEventId !== "" && !isEventId(lastEventId)) throw badRequest("Last-Event-ID is not an event id");
});
