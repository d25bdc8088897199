import { subscribe, type LiveEvent } from "../events.js";
import { request, type RequestOptions, type Transport } from "../http.js";
import { Page, type PageData } from "../pagination.js";
import type { Message, MessageInput, SearchHit } from "../types.gen.js";
import type { ListParams } from "./chats.js";

/** `client.messages(token, chat)`: the messages of one chat, addressed by number. */
export class Messages {
  private readonly base: string;

  constructor(
    private readonly transport: Transport,
    token: string,
    chat: number,
  ) {
    this.base = `/applications/${encodeURIComponent(token)}/chats/${chat}/messages`;
  }

  create(input: MessageInput, options?: RequestOptions): Promise<Message> {
    return request(this.transport, "POST", this.base, { body: input }, options);
  }

  get(number: number, options?: RequestOptions): Promise<Message> {
    return request(this.transport, "GET", `${this.base}/${number}`, {}, options);
  }

  update(number: number, input: MessageInput, options?: RequestOptions): Promise<Message> {
    return request(this.transport, "PATCH", `${this.base}/${number}`, { body: input }, options);
  }

  async delete(number: number, options?: RequestOptions): Promise<void> {
    await request(this.transport, "DELETE", `${this.base}/${number}`, {}, options);
  }

  async list(params: ListParams = {}, options?: RequestOptions): Promise<Page<Message>> {
    const fetchPage = (cursor?: string) => request<PageData<Message>>(this.transport, "GET", this.base, { query: { ...params, cursor: cursor ?? params.cursor } }, options);
    return new Page(await fetchPage(), fetchPage);
  }

  /** Partial, case- and accent-insensitive search in this chat; hits carry an HTML-safe `highlight`. */
  async search(q: string, params: { limit?: number; cursor?: string } = {}, options?: RequestOptions): Promise<Page<SearchHit>> {
    const fetchPage = (cursor?: string) =>
      request<PageData<SearchHit>>(this.transport, "GET", `${this.base}/search`, { query: { q, ...params, cursor: cursor ?? params.cursor } }, options);
    return new Page(await fetchPage(), fetchPage);
  }

  /** Live events (created, updated, deleted) until `signal` aborts; reconnects by itself. */
  subscribe(options: { signal?: AbortSignal; headers?: Record<string, string> } = {}): AsyncIterable<LiveEvent> {
    return subscribe(this.transport, this.base.replace(/\/messages$/, "/events"), options);
  }
}
