/**
 * A fourth baseline for create: the least a create can cost on this stack while doing *everything*
 * the spec asks of one, written outside the API's code, as flat as it goes (one file, no helpers).
 * The spec floor (spec-floor-server.ts) does only §4.1's Redis work under a fixed application; this
 * one also does what SPEC §1–§6 ask of every create around it:
 * - the path the API serves (`/api/v1/applications/:token/chats/:chat/messages`), the application
 *   looked up by its token inside the script (§1), a non-numeric chat a 404 (§3.5);
 * - the body read strictly (§3.5): at most 64 KiB (413), JSON only here (415; the API also takes
 *   forms), valid UTF-8 (400), an object without prototype-shaped keys (§6.4), a body of 1..10,000
 *   code points, not blank, without C0 controls other than \t \n \r (422); every error in the
 *   envelope `{error: {code, message}}`;
 * - the `Idempotency-Key` header checked and, when given, a fingerprint of the request sent to the
 *   script, which then answers a repeat from its record (§5.1; the bench's load sends none);
 * - a version per event from a per-application clock (§4.2), the counters guarded against a Redis
 *   restarted from an AOF that lost their last second (an instance marker: §3.1 "never handed out
 *   twice"), the chat's deleted flag (§3.1);
 * - `Location` on the 201 (§3), a request latency histogram per route and status (§5.6).
 * Not here (the API's own choices, not the spec's): CORS and `X-Request-Id` headers, response schema
 * validation, the query-string guard, the rate limit (off in the bench), the chat's event log for
 * `Last-Event-ID` (only when someone listens), seeding a cold key from MySQL.
 *
 * `EXTRAS` adds the API's own choices, made with the API's own pieces (loaded only for them; else
 * the only file of ours this program loads is the runtime shim below), each a comma-separated name (bench/README.md has what they cost):
 * `cors` (the CORS and X-Request-Id headers of every answer, server/common/response-headers.ts, set
 * in the request hook), `guard` (the API's second request hook, server/common/guard.ts), `response`
 * (the answer checked against the API's Message model, every error status listed), `headers` (the
 * API's Idempotency-Key header schema on the route), `args` (the script called with the API's 10 keys
 * and 8 arguments: rate limit and event log keys, four settings).
 */
// As in the API: without it ioredis traces every command on Bun, listened to or not (the shim's comment says why).
import "../core/runtime/tracing-channel.ts";
import { createHash } from "node:crypto";
import { Elysia, t } from "elysia";
import Redis from "ioredis";

const port = Number(process.env.PORT ?? 3907);
const extras = new Set((process.env.EXTRAS ?? "").split(",").filter(Boolean));
const token = process.env.TOKEN ?? "complete-floor";
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379/3", { enableAutoPipelining: true });

// KEYS: app hash, chat hash, stream, overlay, idempotency record, watch flag, channel, instance marker.
// ARGV: token, chat number, body, fingerprint ('' = no key).
const lua = `
local app = redis.call('HMGET', KEYS[1], 'id', 'r', 'v')
if not app[1] then return {'NOAPP'} end
local rid = redis.call('GET', KEYS[8])
if not rid then
  local t = redis.call('TIME')
  rid = t[1] .. '.' .. t[2]
  redis.set_repl(redis.REPL_NONE)
  redis.call('SET', KEYS[8], rid)
  redis.set_repl(redis.REPL_ALL)
end
if app[2] ~= rid then return {'NOAPP'} end
local chat = redis.call('HMGET', KEYS[2], 'deleted', 'r')
if not chat[1] or chat[1] == '1' then return {'NOTFOUND'} end
if chat[2] ~= rid then return {'NOCHAT'} end
if ARGV[4] ~= '' then
  local record = redis.call('GET', KEYS[5])
  if record then
    local fp, n, v, ms = string.match(record, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
    if fp ~= ARGV[4] then return {'CONFLICT'} end
    return {'REPLAY', n, v, ms}
  end
end
local n = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local last = tonumber(app[3] or '0')
if now <= last then now = last + 1 end
local v = string.format('%.0f', now)
local ms = string.format('%.0f', math.floor(now / 1000))
redis.call('HSET', KEYS[1], 'v', v)
redis.call('ZADD', KEYS[4], n, v .. '|+' .. ARGV[3])
local id = redis.call('XADD', KEYS[3], '*', 'e', 'message.created|' .. app[1] .. '|' .. ARGV[1] .. '|' .. ARGV[2] .. '|' .. n .. '|' .. v .. '|' .. ms .. '|' .. ms .. '||' .. ARGV[3])
if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('PUBLISH', KEYS[7], id .. '|' .. ARGV[3]) end
if ARGV[4] ~= '' then redis.call('SET', KEYS[5], ARGV[4] .. '|' .. n .. '|' .. v .. '|' .. ms, 'EX', 86400) end
return {'OK', n, v, ms}`;
redis.defineCommand("completeCreate", { numberOfKeys: 8, lua });
// The same script called as the API calls its own: two more keys and four more arguments, unused here.
redis.defineCommand("completeCreateWide", { numberOfKeys: 10, lua });
type Reply = [string, number?, string?, string?];
const call = redis as unknown as { completeCreate(...a: string[]): Promise<Reply>; completeCreateWide(...a: string[]): Promise<Reply> };
// Keys `cf:{token}:…` (bench/create.ts deletes the stream and overlays a run leaves).
const tag = (tok: string) => `cf:{${tok}}`;
const create = (tok: string, chat: string, body: string, idemKey: string, fp: string) => {
  const p = tag(tok);
  const keys = [`${p}:app`, `${p}:chat:${chat}`, `${p}:stream`, `${p}:overlay:${chat}`, `${p}:idem:${idemKey}`, `${p}:watch:${chat}`, `${p}:channel:${chat}`, `${p}:instance`];
  if (extras.has("args")) return call.completeCreateWide(...keys, `${p}:rate`, `${p}:log:${chat}`, tok, chat, body, fp, "86400", "0", "100", "3600000");
  return call.completeCreate(...keys, tok, chat, body, fp);
};

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), "then", "toJSON"]);
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const latency = new Map<string, { counts: number[]; sum: number; count: number }>();
const started = new WeakMap<Request, number>();

// EXTRAS: the API's choices, made with the API's own pieces (its header function, guard hook,
// models), loaded only then: without them, the runtime shim is the only file of ours loaded.
const ours = extras.size
  ? {
      ...(await import("../server/common/guard.ts")),
      ...(await import("../server/common/models.ts")),
      ...(await import("../server/common/response-headers.ts")),
      ...(await import("../server/features/messages/model.ts")),
    }
  : undefined;
const routeExtras = {
  ...(ours && extras.has("response") ? { response: { 201: ours.Message, ...ours.errors(400, 404, 409, 413, 415, 422, 429, 503) } } : {}),
  ...(ours && extras.has("headers") ? { headers: ours.IdempotencyHeaders } : {}),
};

function bodyProblem(body: string): string | undefined {
  if (body.trim() === "") return "body must not be blank";
  if (CONTROL.test(body)) return "body must not contain control characters";
  // UTF-16 units are never fewer than code points: count only when it could matter.
  if (body.length > 10_000 && [...body].length > 10_000) return "body must be at most 10,000 characters";
  return undefined;
}

// The application and its 50 chats exist before the load, validated by this instance, as the API's are.
const p = tag(token);
const rid = (await redis.get(`${p}:instance`)) ?? (await redis.set(`${p}:instance`, "1.0"), "1.0");
await redis.hset(`${p}:app`, "id", "1", "r", rid, "v", "0");
await Promise.all(Array.from({ length: 50 }, (_, i) => redis.hset(`${p}:chat:${i + 1}`, "seq", "0", "deleted", "0", "r", rid)));

new Elysia()
  .onError(({ error, code, set }) => {
    // Elysia wraps what a parse hook throws in a ParseError, with ours as its cause.
    const cause = code === "PARSE" ? (error as Error).cause : error;
    const e = cause instanceof HttpError ? cause : code === "PARSE" ? new HttpError(400, "bad_request", "the body could not be parsed") : code === "VALIDATION" ? new HttpError(422, "validation_failed", "the request body is not valid") : code === "NOT_FOUND" ? new HttpError(404, "not_found", "route not found") : new HttpError(500, "internal", "internal error");
    set.status = e.status;
    return { error: { code: e.code, message: e.message } };
  })
  .onRequest(({ request, set }) => {
    started.set(request, performance.now());
    if (ours && extras.has("cors")) Object.assign(set.headers, ours.responseHeaders(request));
  })
  .use(ours && extras.has("guard") ? ours.requestGuard : new Elysia({ name: "no-guard" }))
  .onParse(async ({ request }) => {
    if (Number(request.headers.get("content-length")) > 64 * 1024) throw new HttpError(413, "payload_too_large", "the body is over 64 KiB");
    if (request.headers.get("content-type")?.split(";")[0]!.trim().toLowerCase() !== "application/json") throw new HttpError(415, "unsupported_media_type", "JSON only");
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(await request.arrayBuffer()));
    } catch {
      throw new HttpError(400, "bad_request", "the body is not valid UTF-8 JSON");
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new HttpError(422, "validation_failed", "the body must be an object");
    for (const key in value) if (PROTOTYPE_KEYS.has(key)) throw new HttpError(422, "validation_failed", "a key is not allowed");
    return value;
  })
  .onAfterResponse(({ request, route, set }) => {
    const key = `${request.method} ${set.status ?? 200} ${route}`;
    let h = latency.get(key);
    if (!h) latency.set(key, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const seconds = (performance.now() - (started.get(request) ?? performance.now())) / 1000;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  })
  .post(
    "/api/v1/applications/:token/chats/:chat/messages",
    async ({ params, body, set, request }) => {
      if (!/^[1-9]\d{0,9}$/.test(params.chat)) throw new HttpError(404, "not_found", "chat not found");
      const problem = bodyProblem(body.body);
      if (problem) throw new HttpError(422, "validation_failed", problem);
      const idemKey = request.headers.get("idempotency-key");
      if (idemKey !== null && !IDEMPOTENCY_KEY.test(idemKey)) throw new HttpError(400, "bad_request", "bad Idempotency-Key");
      const fp = idemKey === null ? "" : createHash("sha256").update(`POST /chats/${params.chat}/messages\n${JSON.stringify(body)}`).digest("base64url");
      const [status, number, , ms] = await create(params.token, params.chat, body.body, idemKey ?? "", fp);
      if (status === "CONFLICT") throw new HttpError(409, "conflict", "Idempotency-Key reused with another body");
      if (status !== "OK" && status !== "REPLAY") throw new HttpError(404, "not_found", status === "NOTFOUND" ? "chat not found" : "application not found");
      const at = new Date(Number(ms)).toISOString();
      set.status = 201;
      set.headers.location = `/api/v1/applications/${params.token}/chats/${params.chat}/messages/${number}`;
      return { number: Number(number), chat_number: Number(params.chat), body: body.body, created_at: at, updated_at: at };
    },
    { body: t.Object({ body: t.String() }), ...routeExtras },
  )
  .get("/healthz", () => "ok")
  .listen(port);
console.log(`complete floor on ${port}${extras.size ? ` with ${[...extras].join(", ")}` : ""}`);
// A clean exit on SIGTERM, so that `bun --cpu-prof` writes its profile.
process.on("SIGTERM", () => process.exit(0));
