import { t } from "elysia";
import { Page, Timestamp, component } from "../../common/models.ts";
import { WEBHOOK_EVENT_TYPES } from "../../../core/webhooks/registry.ts";
import { WEBHOOK_URL_MAX } from "../../../core/webhooks/url-guard.ts";

export const WebhookEventType = t.Union(
  [
    t.Literal("chat.created"),
    t.Literal("chat.updated"),
    t.Literal("chat.deleted"),
    t.Literal("message.created"),
    t.Literal("message.updated"),
    t.Literal("message.deleted"),
  ],
  { ...component("WebhookEventType"), description: "An event an endpoint can subscribe to" },
);

const endpointFields = {
  id: t.String({ pattern: "^wh_[A-Za-z0-9_-]{24}$", description: "opaque: wh_ and 24 random URL-safe characters" }),
  url: t.String({ description: "where deliveries are POSTed" }),
  events: t.Array(WebhookEventType, { description: "the event types delivered to this endpoint" }),
  description: t.Union([t.String(), t.Null()]),
  created_at: Timestamp,
};

export const WebhookEndpoint = t.Object(endpointFields, {
  ...component("WebhookEndpoint"),
  description: "An endpoint that receives an application's events, signed per the Standard Webhooks specification",
});

export const WebhookEndpointCreated = t.Object(
  {
    ...endpointFields,
    secret: t.String({ description: "whsec_ and the base64 of 32 random bytes: the signing key, shown only in this answer" }),
  },
  { ...component("WebhookEndpointCreated"), description: "A new endpoint with its signing secret (shown only once)" },
);

export const WebhookInput = t.Object(
  {
    url: t.String({ minLength: 1, maxLength: WEBHOOK_URL_MAX, description: `an http(s) URL of at most ${WEBHOOK_URL_MAX} characters whose host resolves to public addresses` }),
    events: t.Optional(
      t.Union([t.Array(WebhookEventType, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length * 4 }), WebhookEventType], {
        description: "event types to deliver (default: all); one type alone may be sent as a string (form data)",
      }),
    ),
    description: t.Optional(t.Union([t.String({ format: "name", description: "1..255 Unicode code points, one line, not blank" }), t.Null()])),
  },
  { ...component("WebhookInput"), description: "A new webhook endpoint (JSON; form data is accepted too)" },
);

export const WebhookPage = Page(WebhookEndpoint, "WebhookPage", "A page of webhook endpoints, by creation");

export const WebhookParams = t.Object({ token: t.String(), id: t.String({ description: "the endpoint's id (wh_…)" }) });
