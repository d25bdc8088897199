export { ChatClient, type ChatClientOptions } from "./client.js";
export {
  ApiError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitError,
  RetryLaterError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
  type ApiErrorOptions,
} from "./errors.js";
export type { FetchLike, RequestOptions } from "./http.js";
export { Page, type PageData } from "./pagination.js";
export { ApiPromise, type ApiResponse, type WithResponse } from "./response.js";
export type { LiveEvent, LiveEventType, SubscribeOptions } from "./events.js";
export type { ListParams } from "./resources/chats.js";
export type * from "./types.gen.js";
export {
  verifyWebhook,
  WebhookVerificationError,
  type ChatWebhookEvent,
  type MessageWebhookEvent,
  type VerifyOptions,
  type WebhookEvent,
  type WebhookHeaders,
} from "./webhooks.js";
