import type { FetchLike, Transport } from "./http.js";
import { Applications } from "./resources/applications.js";
import { Chats } from "./resources/chats.js";
import { Messages } from "./resources/messages.js";
import { Webhooks } from "./resources/webhooks.js";

export type ChatClientOptions = {
  /** The server's root; the SDK adds `/api/v1`. Default `http://localhost:3000`. */
  baseUrl?: string;
  /** ADMIN_API_KEY of the server, for `applications.list()`. */
  adminKey?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: FetchLike;
  /** Milliseconds for each attempt of a request (default 30,000). */
  timeout?: number;
  /** Retries of network errors, timeouts, 429 and 5xx (default 2); a call's own `maxRetries` overrides it. */
  maxRetries?: number;
  /**
   * Longest `Retry-After` in seconds that is waited for before a retry (default 60). When a 429 or
   * 5xx asks for longer, the call throws its RateLimitError / ServiceUnavailableError at once.
   */
  maxRetryAfter?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
};

/**
 * The chat API client.
 * ```ts
 * const client = new ChatClient({ baseUrl: "http://localhost:3000" });
 * const app = await client.applications.create({ name: "my app" });
 * const chat = await client.chats(app.token).create({ name: "general" });
 * await client.messages(app.token, chat.number).create({ body: "hello" });
 * ```
 */
export class ChatClient {
  readonly applications: Applications;
  private readonly transport: Transport;

  constructor(options: ChatClientOptions = {}) {
    this.transport = {
      baseUrl: options.baseUrl ?? "http://localhost:3000",
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      timeout: options.timeout ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      maxRetryAfter: options.maxRetryAfter ?? 60,
      headers: options.headers ?? {},
    };
    this.applications = new Applications(this.transport, options.adminKey);
  }

  /** The chats of the application with this token. */
  chats(token: string): Chats {
    return new Chats(this.transport, token);
  }

  /** The messages of one chat of the application with this token. */
  messages(token: string, chat: number): Messages {
    return new Messages(this.transport, token, chat);
  }

  /** The webhook endpoints of the application with this token. */
  webhooks(token: string): Webhooks {
    return new Webhooks(this.transport, token);
  }
}
