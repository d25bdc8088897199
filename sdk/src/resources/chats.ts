import { request, requestWithResponse, type RequestOptions, type Transport } from "../http.js";
import { firstPage, type Page, type PageData } from "../pagination.js";
import type { ApiPromise } from "../response.js";
import type { Chat, ChatCreateInput, ChatUpdateInput } from "../types.gen.js";

export type ListParams = { limit?: number; order?: "asc" | "desc"; cursor?: string };

/** `client.chats(token)`: the chats of one application, addressed by number. */
export class Chats {
  private readonly base: string;

  constructor(
    private readonly transport: Transport,
    token: string,
  ) {
    this.base = `/applications/${encodeURIComponent(token)}/chats`;
  }

  create(input: ChatCreateInput = {}, options?: RequestOptions): ApiPromise<Chat> {
    return request(this.transport, "POST", this.base, { body: input }, options);
  }

  get(number: number, options?: RequestOptions): ApiPromise<Chat> {
    return request(this.transport, "GET", `${this.base}/${number}`, {}, options);
  }

  update(number: number, input: ChatUpdateInput, options?: RequestOptions): ApiPromise<Chat> {
    return request(this.transport, "PATCH", `${this.base}/${number}`, { body: input }, options);
  }

  delete(number: number, options?: RequestOptions): ApiPromise<void> {
    return request(this.transport, "DELETE", `${this.base}/${number}`, {}, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): ApiPromise<Page<Chat>> {
    const fetchPage = (cursor?: string) => requestWithResponse<PageData<Chat>>(this.transport, "GET", this.base, { query: { ...params, cursor: cursor ?? params.cursor } }, options);
    return firstPage(fetchPage);
  }
}
