import { request, type RequestOptions, type Transport } from "../http.js";
import { Page, type PageData } from "../pagination.js";
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

  create(input: ChatCreateInput = {}, options?: RequestOptions): Promise<Chat> {
    return request(this.transport, "POST", this.base, { body: input }, options);
  }

  get(number: number, options?: RequestOptions): Promise<Chat> {
    return request(this.transport, "GET", `${this.base}/${number}`, {}, options);
  }

  update(number: number, input: ChatUpdateInput, options?: RequestOptions): Promise<Chat> {
    return request(this.transport, "PATCH", `${this.base}/${number}`, { body: input }, options);
  }

  async delete(number: number, options?: RequestOptions): Promise<void> {
    await request(this.transport, "DELETE", `${this.base}/${number}`, {}, options);
  }

  async list(params: ListParams = {}, options?: RequestOptions): Promise<Page<Chat>> {
    const fetchPage = (cursor?: string) => request<PageData<Chat>>(this.transport, "GET", this.base, { query: { ...params, cursor: cursor ?? params.cursor } }, options);
    return new Page(await fetchPage(), fetchPage);
  }
}
