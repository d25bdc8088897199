import { subscribe, type LiveEvent, type SubscribeOptions } from "../events.js";
import { request, requestWithResponse, type RequestOptions, type Transport } from "../http.js";
import { firstPage, type Page, type PageData } from "../pagination.js";
import type { ApiPromise } from "../response.js";
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

  create(input: MessageInput, options?: RequestOptions): ApiPromise<Message> {
    return request(this.transport, "POST", this.base, { body: input }, options);
  }

  get(number: number, options?: RequestOptions): ApiPromise<Message> {
    return request(this.transport, "GET", `${this.base}/${number}`, {}, options);
  }

  update(number: number, input: MessageInput, options?: RequestOptions): ApiPromise<Message> {
    return request(this.transport, "PATCH", `${this.base}/${number}`, { body: input }, options);
  }

  delete(number: number, options?: RequestOptions): ApiPromise<void> {
    return request(this.transport, "DELETE", `${this.base}/${number}`, {}, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): ApiPromise<Page<Message>> {
    const fetchPage = (cursor?: string) => requestWithResponse<PageData<Message>>(this.transport, "GET", this.base, { query: { ...params, cursor: cursor ?? params.cursor } }, options);
    return firstPage(fetchPage);
  }

  /** Partial, case- and accent-insensitive search in this chat; hits carry an HTML-safe `highlight`. */
  search(q: string, params: { limit?: number; cursor?: string } = {}, options?: RequestOptions): ApiPromise<Page<SearchHit>> {
    const fetchPage = (cursor?: string) =>
      requestWithResponse<PageData<SearchHit>>(this.transport, "GET", `${this.base}/search`, { query: { q, ...params, cursor: cursor ?? params.cursor } }, options);
    return firstPage(fetchPage);
  }

  /** Live events (created, updated, deleted) until `signal` aborts; reconnects by itself; `onOpen` once live. */
  subscribe(options: SubscribeOptions = {}): AsyncIterable<LiveEvent> {
    return subscribe(this.transport, this.base.replace(/\/messages$/, "/events"), options);
  }
}
