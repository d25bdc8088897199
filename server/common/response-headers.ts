/**
 * Headers every response carries, errors, streams and 404s included: CORS for browsers (the SDK runs
 * there; tokens travel in the URL, not in cookies, so any origin may call) with the headers a
 * script may read, and the request's id, which is also on its log line.
 */

/** Response headers a browser script may read besides the CORS-safelisted ones. */
export const EXPOSED_HEADERS = "location, retry-after, ratelimit-limit, ratelimit-remaining, ratelimit-reset, idempotent-replayed, x-request-id";

const CLIENT_ID = /^[\x21-\x7e]{1,200}$/;
const ids = new WeakMap<Request, string>();

/** The client's `x-request-id` when it is 1..200 visible ASCII characters, else one of ours; the same for the whole request. */
export function requestId(request: Request): string {
  let id = ids.get(request);
  if (id === undefined) {
    const given = request.headers.get("x-request-id");
    id = given !== null && CLIENT_ID.test(given) ? given : crypto.randomUUID();
    ids.set(request, id);
  }
  return id;
}

export function responseHeaders(request: Request): Record<string, string> {
  return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED_HEADERS, "x-request-id": requestId(request) };
}
