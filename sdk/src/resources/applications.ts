import { request, requestWithResponse, type RequestOptions, type Transport } from "../http.js";
import { firstPage, type Page, type PageData } from "../pagination.js";
import type { ApiPromise } from "../response.js";
import type { Application, ApplicationInput } from "../types.gen.js";
import type { ListParams } from "./chats.js";

/** `client.applications`: create, get, rename, delete; `list` needs the client's `adminKey`. */
export class Applications {
  constructor(
    private readonly transport: Transport,
    private readonly adminKey: string | undefined,
  ) {}

  create(input: ApplicationInput, options?: RequestOptions): ApiPromise<Application> {
    return request(this.transport, "POST", "/applications", { body: input }, options);
  }

  get(token: string, options?: RequestOptions): ApiPromise<Application> {
    return request(this.transport, "GET", `/applications/${encodeURIComponent(token)}`, {}, options);
  }

  update(token: string, input: ApplicationInput, options?: RequestOptions): ApiPromise<Application> {
    return request(this.transport, "PATCH", `/applications/${encodeURIComponent(token)}`, { body: input }, options);
  }

  delete(token: string, options?: RequestOptions): ApiPromise<void> {
    return request(this.transport, "DELETE", `/applications/${encodeURIComponent(token)}`, {}, options);
  }

  /** Every application (admin): a page that also iterates over all following pages. */
  list(params: ListParams = {}, options?: RequestOptions): ApiPromise<Page<Application>> {
    const headers: Record<string, string> = this.adminKey ? { authorization: `Bearer ${this.adminKey}` } : {};
    const fetchPage = (cursor?: string) =>
      requestWithResponse<PageData<Application>>(this.transport, "GET", "/applications", { query: { ...params, cursor: cursor ?? params.cursor }, headers }, options);
    return firstPage(fetchPage);
  }
}
