/**
 * Error classes for SPEC §3.5 and the one place they become the JSON envelope
 * `{ error: { code, message, details? } }`. Anything unexpected is logged and answered as a
 * generic 500 without internals; a dependency that is down is a 503.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { Elysia } from "elysia";
import type { Logger } from "../core/log.ts";
import { ReplicationTimeoutError } from "../core/redis/scripts.ts";
import { requestId, responseHeaders } from "./common/response-headers.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown[]) => new ApiError(400, "bad_request", message, details);
export const unauthorized = (message: string) =>
  new ApiError(401, "unauthorized", message, undefined, { "www-authenticate": 'Bearer realm="admin"' });
export const forbidden = (message: string) => new ApiError(403, "forbidden", message);
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);
export const conflict = (message: string) => new ApiError(409, "conflict", message);
export const methodNotAllowed = (method: string, allow: string[]) =>
  new ApiError(405, "method_not_allowed", `${method} is not allowed here`, undefined, { allow: allow.join(", ") });
export const payloadTooLarge = (limit: number) => new ApiError(413, "payload_too_large", `request body is larger than ${limit} bytes`);
/** The type is named only when it looks like one: messages never echo arbitrary input. */
export const unsupportedMediaType = (type: string, what = /^[\w.+-]{1,64}\/[\w.+-]{1,64}$/.test(type) ? `content type "${type}"` : "this content type") =>
  new ApiError(415, "unsupported_media_type", `${what} is not supported; send application/json, application/x-www-form-urlencoded or multipart/form-data (UTF-8)`);
export const validationFailed = (message: string, details?: unknown[]) => new ApiError(422, "validation_failed", message, details);
export const rateLimited = (retryAfter: number, headers: Record<string, string>) =>
  new ApiError(429, "rate_limited", "too many requests", undefined, { "retry-after": String(retryAfter), ...headers });
export const unavailable = (message = "a dependency is unavailable, try again shortly") =>
  new ApiError(503, "service_unavailable", message, undefined, { "retry-after": "1" });

/** Errors thrown by a client library when its server cannot be reached. */
export function isDependencyDown(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const text = `${error.name} ${error.message}`;
  return (
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "PROTOCOL_CONNECTION_LOST", "ER_CON_COUNT_ERROR", "ER_SERVER_SHUTDOWN", "ENOTFOUND", "EHOSTUNREACH"].includes(String(code)) ||
    /Connection is closed|Stream isn't writeable|enableOfflineQueue|ConnectionError|NoLivingConnections|connect ECONNREFUSED|Pool is closed|closed state|max retries|MaxRetriesPerRequest|Timeout/i.test(text) ||
    // A Redis Cluster failing over: the node went away mid-command, the slots are moving or uncovered.
    /aborted due to connection close|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY|ClusterAllFailed|refresh slots cache|Too many Cluster redirections|^ReplyError (MOVED|ASK) /i.test(text) ||
    // Drizzle wraps the driver's error ("Failed query: …") and keeps it as the cause.
    (depth < 3 && isDependencyDown(error.cause, depth + 1))
  );
}

export function envelope(code: string, message: string, details?: unknown[]) {
  return { error: details && details.length ? { code, message, details } : { code, message } };
}

type Failure = { path?: string; message?: string; schema?: { description?: string; anyOf?: { type?: string; const?: unknown; description?: string }[] } };

/** A TypeBox error as text: its message is built from the schema alone, never from the value. */
function describe(failure: Failure): string {
  const members = failure.schema?.anyOf;
  if (members?.length) {
    const kinds = members.map((m) => (m.const !== undefined ? JSON.stringify(m.const) : `${m.type ?? "value"}${m.description ? ` (${m.description})` : ""}`));
    return `Expected one of: ${[...new Set(kinds)].join(" | ")}`;
  }
  const description = failure.schema?.description;
  return `${failure.message ?? "invalid"}${description ? ` (${description})` : ""}`;
}

/**
 * Elysia's validation error as `{ path, message }` items. Read from the validator's own errors, not
 * from Elysia's summaries (`error.all`), which quote the value they refused.
 */
function validationDetails(error: unknown): unknown[] {
  try {
    const { validator, value } = error as { validator?: { Errors?: (value: unknown) => Iterable<Failure> }; value?: unknown };
    if (!validator) return [];
    const failures = typeof validator.Errors === "function" ? validator.Errors(value) : (Value.Errors(validator as TSchema, value) as Iterable<Failure>);
    const details: unknown[] = [];
    for (const failure of failures) {
      details.push({ path: failure.path || "/", message: describe(failure) });
      if (details.length >= 10) break;
    }
    return details;
  } catch {
    return [];
  }
}

const STANDARD_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export const errorHandler = (log: Logger, allowedMethods: (path: string) => string[]) =>
  new Elysia({ name: "errors" }).onError({ as: "global" }, ({ code, error, request, path, set }) => {
    /** The envelope with the headers every response carries; `set.status` too, so the request log records what was sent. */
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      set.status = status;
      return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...responseHeaders(request), ...headers } });
    };
    // Our body parser's errors reach here wrapped in Elysia's ParseError.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof ApiError) error = cause;
    if (error instanceof ApiError) return json(error.status, envelope(error.code, error.message, error.details), error.headers);
    if (error instanceof ReplicationTimeoutError) {
      // The write was made on the master; a retry with the same Idempotency-Key gets the original.
      return json(503, envelope("replication_timeout", "the write was not confirmed by enough replicas in time; retry with the same Idempotency-Key"), { "retry-after": "1" });
    }
    switch (code) {
      case "VALIDATION": {
        const on = (error as { type?: string }).type;
        // Path, query and header problems are malformed requests (400); body problems are 422.
        if (on === "params") return json(404, envelope("not_found", "resource not found"));
        if (on === "body") return json(422, envelope("validation_failed", "the request body is invalid", validationDetails(error)));
        if (on === "response") break;
        return json(400, envelope("bad_request", "invalid query or header parameters", validationDetails(error)));
      }
      case "PARSE":
        return json(400, envelope("bad_request", "the request body could not be parsed"));
      case "NOT_FOUND": {
        const methods = allowedMethods(path);
        if (methods.includes("WS") && request.method === "GET") {
          return json(426, envelope("upgrade_required", "this endpoint speaks WebSocket: send an Upgrade request"), { upgrade: "websocket" });
        }
        if (methods.length && !methods.includes(request.method)) {
          const method = STANDARD_METHODS.includes(request.method) ? request.method : "this method";
          return json(405, envelope("method_not_allowed", `${method} is not allowed here`), { allow: methods.join(", ") });
        }
        return json(404, envelope("not_found", "route not found"));
      }
    }
    if (isDependencyDown(error)) {
      log.warn("dependency unavailable", { err: error, path, request_id: requestId(request) });
      return json(503, envelope("service_unavailable", "a dependency is unavailable, try again shortly"), { "retry-after": "1" });
    }
    log.error("unhandled error", { err: error, path, code: String(code), request_id: requestId(request) });
    return json(500, envelope("internal_error", "internal server error"));
  });
