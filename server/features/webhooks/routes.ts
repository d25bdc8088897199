import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { IdempotencyHeaders, ListQuery, TokenParams, errors } from "../../common/models.ts";
import { tokenParam } from "../../common/params.ts";
import { created } from "../../common/created.ts";
import { idempotencyOf } from "../../common/idempotency.ts";
import { rateLimit } from "../../common/ratelimit.ts";
import { WebhookEndpoint, WebhookEndpointCreated, WebhookInput, WebhookPage, WebhookParams } from "./model.ts";
import type { Services } from "../../services.ts";

export function webhookRoutes(deps: Deps, { webhooks: service }: Services) {
  const tags = ["webhooks"];
  return new Elysia({ prefix: "/applications/:token/webhooks" })
    .onBeforeHandle(rateLimit(deps))
    .post(
      "/",
      async ({ params: p, body, set, request }) => {
        const token = tokenParam(p.token);
        const idempotency = idempotencyOf(request, `/applications/${token}/webhooks`, body);
        const { endpoint, replayed } = idempotency
          ? await service.createOnce(token, body, idempotency.key, idempotency.fingerprint)
          : { endpoint: await service.create(token, body), replayed: false };
        created(set, deps.metrics, "webhook", `/api/v1/applications/${token}/webhooks/${endpoint.id}`, replayed);
        return endpoint;
      },
      {
        params: TokenParams,
        headers: IdempotencyHeaders,
        body: WebhookInput,
        response: { 201: WebhookEndpointCreated, ...errors(400, 404, 409, 413, 415, 422, 429, 503) },
        detail: {
          tags,
          operationId: "webhooks.create",
          summary: "Add a webhook endpoint",
          description:
            "Deliveries are POSTs signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`) " +
            "with the secret returned here, which is shown only once. At most 20 endpoints per application (409 beyond); " +
            "a URL whose host resolves to a loopback, private, link-local or metadata address is a 422.",
        },
      },
    )
    .get("/", ({ params: p, query }) => service.list(tokenParam(p.token), query.limit ?? 25, query.order ?? "asc", query.cursor), {
      params: TokenParams,
      query: ListQuery,
      response: { 200: WebhookPage, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "webhooks.list", summary: "List webhook endpoints (without their secrets)" },
    })
    .get("/:id", ({ params: p }) => service.get(tokenParam(p.token), p.id), {
      params: WebhookParams,
      response: { 200: WebhookEndpoint, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "webhooks.get", summary: "Get a webhook endpoint (without its secret)" },
    })
    .delete(
      "/:id",
      async ({ params: p, set }) => {
        await service.remove(tokenParam(p.token), p.id);
        set.status = 204;
      },
      {
        params: WebhookParams,
        // A DELETE may carry a body, which is read (and refused) like any other.
        response: { 204: t.Void(), ...errors(400, 404, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "webhooks.delete", summary: "Delete a webhook endpoint; nothing more is delivered to it" },
      },
    );
}
