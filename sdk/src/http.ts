/**
 * One request with the SDK's policies: `/api/v1` prefix, JSON in and out, a per-attempt timeout,
 * the caller's AbortSignal, and retries with exponential backoff and jitter for network errors, 429
 * and 5xx, honouring `Retry-After` up to `maxRetryAfter` seconds (a longer one is not waited for: the
 * error is thrown). Every POST carries an Idempotency-Key (the caller's or a random one) that stays
 * the same across its retries, so a retried create never creates twice.
 */
import { ApiError, ConnectionError, TimeoutError, errorFromResponse, parseRetryAfter } from "./errors.js";
import { ApiPromise, type ApiResponse, type WithResponse } from "./response.js";

export type RequestOptions = {
  /** Aborting ends the call with the signal's reason (an AbortError by default); never retried. */
  signal?: AbortSignal;
  /** Milliseconds for each attempt; overrides the client's `timeout`. */
  timeout?: number;
  /** Retries of this call; overrides the client's `maxRetries`. */
  maxRetries?: number;
  /** Longest `Retry-After` (seconds) this call waits for; overrides the client's `maxRetryAfter`. */
  maxRetryAfter?: number;
  /** For POSTs: the key to send instead of a generated one. */
  idempotencyKey?: string;
  /** Sent with this call, over the client's `headers` (e.g. your own `x-request-id`). */
  headers?: Record<string, string>;
};

/** The subset of `fetch` the SDK uses: any WHATWG-compatible implementation will do. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export type Transport = {
  baseUrl: string;
  fetch: FetchLike;
  timeout: number;
  maxRetries: number;
  /** Seconds. */
  maxRetryAfter: number;
  headers: Record<string, string>;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/** Exponential backoff with jitter: 125–250 ms, 250–500 ms, … up to 4–8 s. */
function backoff(attempt: number): number {
  const base = Math.min(8000, 250 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

/**
 * A random (version 4) UUID for an Idempotency-Key. `crypto.randomUUID` exists only in secure
 * contexts (a page served over plain HTTP has none); `crypto.getRandomValues` exists everywhere.
 */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const retryable = (error: ApiError) => error instanceof ConnectionError || error instanceof TimeoutError || error.status === 429 || error.status >= 500;

export function url(transport: Transport, path: string, query?: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, String(value));
  const qs = search.toString();
  return `${transport.baseUrl.replace(/\/+$/, "")}/api/v1${path}${qs ? `?${qs}` : ""}`;
}

/** Sends one request (with retries); resolves to the parsed JSON body (undefined for 204) and the response. */
export async function requestWithResponse<T>(
  transport: Transport,
  method: string,
  path: string,
  init: { query?: Record<string, string | number | undefined>; body?: unknown; headers?: Record<string, string> } = {},
  options: RequestOptions = {},
): Promise<WithResponse<T>> {
  const headers: Record<string, string> = { accept: "application/json", ...transport.headers, ...init.headers, ...options.headers };
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const idempotencyKey = method === "POST" ? (options.idempotencyKey ?? randomKey()) : undefined;
  if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
  const timeout = options.timeout ?? transport.timeout;
  const maxRetries = options.maxRetries ?? transport.maxRetries;
  const maxRetryAfter = options.maxRetryAfter ?? transport.maxRetryAfter;
  const target = url(transport, path, init.query);

  for (let attempt = 0; ; attempt++) {
    let error: ApiError;
    let retryAfter: number | undefined;
    const deadline = AbortSignal.timeout(timeout);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const response = await transport.fetch(target, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal,
      });
      const text = await response.text();
      if (response.ok) {
        const info: ApiResponse = {
          status: response.status,
          headers: response.headers,
          requestId: response.headers.get("x-request-id") ?? undefined,
          url: target,
          attempts: attempt + 1,
          idempotencyKey,
        };
        return { data: (text ? JSON.parse(text) : undefined) as T, response: info };
      }
      error = errorFromResponse(response.status, response.headers, text);
      retryAfter = parseRetryAfter(response.headers.get("retry-after"));
    } catch (cause) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (cause instanceof ApiError) throw cause;
      error = deadline.aborted
        ? new TimeoutError(0, "timeout", `no response within ${timeout} ms`, undefined, undefined, { cause })
        : new ConnectionError(0, "connection_error", `could not reach ${transport.baseUrl}: ${(cause as Error)?.message ?? cause}`, undefined, undefined, { cause });
    }
    if (attempt >= maxRetries || !retryable(error)) throw error;
    // A server asking for a longer wait than the caller accepts gets its error thrown, not a sleep.
    if (retryAfter !== undefined && retryAfter > maxRetryAfter) throw error;
    await sleep(retryAfter !== undefined ? retryAfter * 1000 : backoff(attempt), options.signal);
  }
}

/** `requestWithResponse` as an ApiPromise: awaits to the body, `.withResponse()` gives both. */
export function request<T>(
  transport: Transport,
  method: string,
  path: string,
  init: { query?: Record<string, string | number | undefined>; body?: unknown; headers?: Record<string, string> } = {},
  options: RequestOptions = {},
): ApiPromise<T> {
  return new ApiPromise(requestWithResponse<T>(transport, method, path, init, options));
}
