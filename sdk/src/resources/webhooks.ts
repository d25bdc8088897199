import { request, requestWithResponse, type RequestOptions, type Transport } from "../http.js";
import { firstPage, type Page, type PageData } from "../pagination.js";
import type { ApiPromise } from "../response.js";
import type { WebhookEndpoint, WebhookEndpointCreated, WebhookInput } from "../types.gen.js";
import type { ListParams } from "./chats.js";

/** `client.webhooks(token)`: the endpoints that receive one application's events (signed deliveries). */
export class Webhooks {
  private readonly base: string;

  constructor(
    private readonly transport: Transport,
    token: string,
  ) {
    this.base = `/applications/${encodeURIComponent(token)}/webhooks`;
  }

  /** The answer carries the endpoint's signing `secret`: keep it, it is never shown again. */
  create(input: WebhookInput, options?: RequestOptions): ApiPromise<WebhookEndpointCreated> {
    return request(this.transport, "POST", this.base, { body: input }, options);
  }

  get(id: string, options?: RequestOptions): ApiPromise<WebhookEndpoint> {
    return request(this.transport, "GET", `${this.base}/${encodeURIComponent(id)}`, {}, options);
  }

  delete(id: string, options?: RequestOptions): ApiPromise<void> {
    return request(this.transport, "DELETE", `${this.base}/${encodeURIComponent(id)}`, {}, options);
  }

  list(params: ListParams = {}, options?: RequestOptions): ApiPromise<Page<WebhookEndpoint>> {
    const fetchPage = (cursor?: string) => requestWithResponse<PageData<WebhookEndpoint>>(this.transport, "GET", this.base, { query: { ...params, cursor: cursor ?? params.cursor } }, options);
    return firstPage(fetchPage);
  }
}
