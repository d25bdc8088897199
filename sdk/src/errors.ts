/**
 * Every failure is an ApiError. The server's errors (SPEC §3.5) map to one subclass per status;
 * failures with no response are ConnectionError (network) and TimeoutError (our deadline).
 */
export class ApiError extends Error {
  override name = "ApiError";
  /** HTTP status; 0 when no response was received. */
  readonly status: number;
  /** Machine-readable code from the error envelope, e.g. `not_found`, `validation_failed`. */
  readonly code: string;
  readonly details: unknown[] | undefined;
  /** The `x-request-id` response header, when the server sent one. */
  readonly requestId: string | undefined;
  /** The response's headers; undefined when no response was received. */
  readonly headers: Headers | undefined;

  constructor(status: number, code: string, message: string, details?: unknown[], requestId?: string, options?: ApiErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.headers = options?.headers;
  }
}

export type ApiErrorOptions = { cause?: unknown; headers?: Headers };

/** 400 (and 415): the request was malformed. */
export class BadRequestError extends ApiError {
  override name = "BadRequestError";
}
/** 401 or 403: the admin key is missing or wrong. */
export class AuthenticationError extends ApiError {
  override name = "AuthenticationError";
}
/** 404 (and 405): no such application, chat, message or route. */
export class NotFoundError extends ApiError {
  override name = "NotFoundError";
}
/** 409: the Idempotency-Key was used with a different request. */
export class ConflictError extends ApiError {
  override name = "ConflictError";
}
/** 413: the body is over 64 KiB. */
export class PayloadTooLargeError extends ApiError {
  override name = "PayloadTooLargeError";
}
/** 422: a field is missing, empty, too long, of the wrong type, or has forbidden characters. */
export class ValidationError extends ApiError {
  override name = "ValidationError";
}
/** An answer that says when to try again: `retryAfter` is its `Retry-After` in seconds, when sent. */
export class RetryLaterError extends ApiError {
  override name = "RetryLaterError";
  readonly retryAfter: number | undefined;
  constructor(status: number, code: string, message: string, details?: unknown[], requestId?: string, retryAfter?: number, options?: ApiErrorOptions) {
    super(status, code, message, details, requestId, options);
    this.retryAfter = retryAfter;
  }
}
/** 429: rate limited. */
export class RateLimitError extends RetryLaterError {
  override name = "RateLimitError";
}
/** 503: a dependency of the server is down; retried automatically. */
export class ServiceUnavailableError extends RetryLaterError {
  override name = "ServiceUnavailableError";
}
/** No response: the server could not be reached or the connection broke. */
export class ConnectionError extends ApiError {
  override name = "ConnectionError";
}
/** No response within the `timeout` (milliseconds). */
export class TimeoutError extends ApiError {
  override name = "TimeoutError";
}

type ErrorClass = new (status: number, code: string, message: string, details?: unknown[], requestId?: string, options?: ApiErrorOptions) => ApiError;
const byStatus: Record<number, ErrorClass> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: AuthenticationError,
  404: NotFoundError,
  405: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  415: BadRequestError,
  422: ValidationError,
};

/**
 * `Retry-After` in seconds: delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when the
 * header is missing or unreadable.
 */
export function parseRetryAfter(value: string | null): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** Builds the error for a non-2xx response from its status, headers and (already read) body text. */
export function errorFromResponse(status: number, headers: Headers, text: string): ApiError {
  let code = `http_${status}`;
  let message = text.slice(0, 200) || `HTTP ${status}`;
  let details: unknown[] | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown[] } };
    if (parsed.error?.code) code = parsed.error.code;
    if (parsed.error?.message) message = parsed.error.message;
    details = parsed.error?.details;
  } catch {}
  const requestId = headers.get("x-request-id") ?? undefined;
  if (status === 429) return new RateLimitError(status, code, message, details, requestId, parseRetryAfter(headers.get("retry-after")), { headers });
  if (status === 503) return new ServiceUnavailableError(status, code, message, details, requestId, parseRetryAfter(headers.get("retry-after")), { headers });
  const ErrorType = byStatus[status] ?? ApiError;
  return new ErrorType(status, code, message, details, requestId, { headers });
}
