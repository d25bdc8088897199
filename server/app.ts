/** Builds the HTTP app from the feature plugins; main.ts serves it, tests call `app.handle`. */
import { swagger } from "@elysiajs/swagger";
import { Elysia, type AnyElysia } from "elysia";
import { allowedMethods } from "./common/allowed-methods.ts";
import { bodyParser } from "./common/body.ts";
import { requestGuard } from "./common/guard.ts";
import { EXPOSED_HEADERS, requestId, responseHeaders } from "./common/response-headers.ts";
import { redactPath } from "./common/params.ts";
import type { Deps } from "./deps.ts";
import { buildServices } from "./services.ts";
import { errorHandler } from "./errors.ts";
import { applicationRoutes } from "./features/applications/routes.ts";
import { chatRoutes } from "./features/chats/routes.ts";
import { messageRoutes } from "./features/messages/routes.ts";
import { searchRoutes } from "./features/search/routes.ts";
import { eventRoutes } from "./features/events/routes.ts";
import { createFanout } from "./features/events/fanout.ts";
import { refineOpenApi } from "./openapi.ts";
import { opsRoutes } from "./features/ops/routes.ts";
import { webhookRoutes } from "./features/webhooks/routes.ts";
import { webRoutes } from "./features/web/routes.ts";

export function buildApp(deps: Deps) {
  // The app is built below; requests only reach this once it is.
  let router: AnyElysia | undefined;
  const allowed = (path: string): string[] => (router ? allowedMethods(router, path) : []);
  const services = buildServices(deps);
  const fanout = createFanout(deps.subscriber, deps.keys.channelPattern, deps.log);
  const { metrics } = deps;
  const started = new WeakMap<Request, number>();
  const api = new Elysia({ prefix: "/api/v1" })
    .use(applicationRoutes(deps, services))
    .use(chatRoutes(deps, services))
    .use(searchRoutes(deps, services))
    .use(eventRoutes(deps, services, fanout))
    .use(messageRoutes(deps, services))
    .use(webhookRoutes(deps, services));

  const app = new Elysia()
    .use(errorHandler(deps.log, allowed))
    .onRequest(({ request, set }) => {
      started.set(request, performance.now());
      Object.assign(set.headers, responseHeaders(request));
      if (request.method !== "OPTIONS") return;
      const response = preflight(request, allowed);
      set.status = response.status;
      return response;
    })
    .use(requestGuard)
    .use(bodyParser)
    // Registered before the swagger plugin, so that its /swagger/json route gets it too.
    .onAfterHandle({ as: "global" }, ({ path, response }) => (path === "/swagger/json" ? refineOpenApi(response) : undefined))
    .use(
      swagger({
        path: "/swagger",
        documentation: {
          info: {
            title: "Chat API",
            version: "1.0.0",
            description:
              "Multi-tenant chat backend: applications, numbered chats and messages, search, live events. " +
              "Bodies are JSON (form-urlencoded and multipart are accepted too), at most 64 KiB. " +
              "Every error is `{ error: { code, message, details? } }`; a method a path does not serve is a 405 with `Allow`. " +
              "POSTs take an `Idempotency-Key`: a repeat within 24 h returns the original response. " +
              "Every response carries `X-Request-Id`.",
          },
          servers: [{ url: "/", description: "this server" }],
          tags: [
            { name: "applications", description: "An application and its secret token" },
            { name: "chats", description: "Chats of an application, numbered 1, 2, 3 …" },
            { name: "messages", description: "Messages of a chat, numbered 1, 2, 3 …" },
            { name: "search", description: "Partial-word search in a chat's messages" },
            { name: "events", description: "Live message events: Server-Sent Events or WebSocket" },
            { name: "webhooks", description: "Signed deliveries of an application's events to its own endpoints (Standard Webhooks)" },
            { name: "operations", description: "Health, readiness and metrics" },
          ],
          components: {
            securitySchemes: {
              adminKey: { type: "http", scheme: "bearer", description: "The server's ADMIN_API_KEY, for GET /api/v1/applications" },
            },
          },
        },
      }),
    )
    // Every path that answers with its own Response (errors.ts) sets `set.status` to its status too.
    .onAfterResponse(({ request, path, route, set }) => {
      const status = String(set.status ?? 200);
      const seconds = (performance.now() - (started.get(request) ?? performance.now())) / 1000;
      metrics.observeRequest(request.method, route || "unmatched", status, seconds);
      if (deps.config.logLevel === "debug") deps.log.debug("request", { method: request.method, path: redactPath(path), status, ms: Math.round(seconds * 1000), request_id: requestId(request) });
    })
    .use(opsRoutes(deps, metrics))
    .use(webRoutes(deps.web))
    .use(api);

  router = app;
  return app;
}

/** CORS preflight: the API is called from browsers (the SDK runs there); tokens travel in the URL, not cookies. */
function preflight(request: Request, allowedMethods: (path: string) => string[]): Response {
  const methods = allowedMethods(new URL(request.url).pathname);
  if (!methods.length) {
    return Response.json({ error: { code: "not_found", message: "route not found" } }, { status: 404, headers: responseHeaders(request) });
  }
  const allow = [...methods, "OPTIONS"].join(", ");
  return new Response(null, {
    status: 204,
    headers: {
      ...responseHeaders(request),
      allow,
      "access-control-allow-methods": allow,
      "access-control-allow-headers": "authorization, content-type, idempotency-key, last-event-id, x-request-id",
      "access-control-expose-headers": EXPOSED_HEADERS,
      "access-control-max-age": "600",
    },
  });
}

export type App = ReturnType<typeof buildApp>;
