/** An SDK error as a sentence for the status region: what failed, why, and what to do. */
import { ApiError, ConnectionError, NotFoundError, RateLimitError, RetryLaterError, TimeoutError, ValidationError } from "@chat-backend/sdk";
import { plural } from "./dom.ts";

/** `action` says what failed, e.g. "Could not send the message". */
export function describeError(action: string, error: unknown): string {
  if (error instanceof RateLimitError) return `${action}: too many requests. ${retryIn(error.retryAfter)}`;
  if (error instanceof RetryLaterError) return `${action}: the server is temporarily unavailable. ${retryIn(error.retryAfter)}`;
  if (error instanceof ConnectionError) return `${action}: the server cannot be reached. Check your connection and that the server is running.`;
  if (error instanceof TimeoutError) return `${action}: the server did not answer in time. Try again.`;
  if (error instanceof NotFoundError) return `${action}: it no longer exists (deleted, or a wrong token).`;
  if (error instanceof ValidationError) return `${action}: ${validationReason(error)}`;
  if (error instanceof ApiError) return `${action}: ${sentence(error.message)} (HTTP ${error.status}).`;
  return `${action}: something went wrong. Reload the page and try again.`;
}

function retryIn(seconds: number | undefined): string {
  return seconds === undefined ? "Try again in a moment." : `Try again in ${plural(Math.max(1, Math.ceil(seconds)), "second")}.`;
}

/** The first detail the server gave (`{ path, message }`), else its message. */
function validationReason(error: ValidationError): string {
  const [first] = (error.details ?? []) as { path?: string; message?: string }[];
  const field = first?.path?.replace(/^\//, "");
  if (first?.message) return `${field ? `the ${field} is not valid` : "not valid"}: ${sentence(first.message)}.`;
  return `${sentence(error.message)}.`;
}

const sentence = (text: string) => text.replace(/[.\s]+$/, "");
