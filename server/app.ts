/** Builds the HTTP app from the feature plugins; main.ts serves it, tests call `app.handle`. */
import { swagger } from "@elysiajs/swagger";
import { Elysia } from "elysia";
import { bodyParser } from "./common/body.ts";
import { redactPath } from "./common/params.ts";
import type { Deps } from "./deps.ts";
import { errorHandler } from "./errors.ts";
import { applicationRoutes } from "./features/applications/routes.ts";
import { chatRoutes } from "./features/chats/routes.ts";
import { messageRoutes } from "./features/messages/routes.ts";
import { searchRoutes } from "./features/search/routes.ts";
import { eventRoutes } from "./features/events/routes.ts";
import { createFanout } from "./features/events/fanout.ts";
import { rateLimiter } from "./common/ratelimit.ts";
import { opsRoutes } from "./features/ops/routes.ts";

export function buildApp(deps: Deps) {
  const routeTable: { method: string; pattern: RegExp }[] = [];
  const allowedMethods = (path: string) => [...new Set(routeTable.filter((r) => r.pattern.test(path)).map((r) => r.method))];

  const fanout = createFanout(deps.subscriber, deps.keys.channelPattern, deps.log);
  const api = new Elysia({ prefix: "/api/v1" })
    .use(applicationRoutes(deps))
    .use(chatRoutes(deps))
    .use(searchRoutes(deps))
    .use(eventRoutes(deps, fanout))
    .use(messageRoutes(deps));

  const app = new Elysia()
    .use(errorHandler(deps.log, allowedMethods))
    .use(bodyParser)
    .use(rateLimiter(deps))
    .use(
      swagger({
        path: "/swagger",
        documentation: {
          info: {
            title: "Chat API",
            version: "1.0.0",
            description: "Multi-tenant chat backend: applications, numbered chats and messages, search, live events.",
          },
          components: { securitySchemes: { adminKey: { type: "http", scheme: "bearer", description: "ADMIN_API_KEY" } } },
        },
      }),
    )
    .onAfterResponse(({ request, path, set }) => {
      deps.log.debug("request", { method: request.method, path: redactPath(path), status: set.status });
    })
    .use(opsRoutes(deps))
    .use(api);

  for (const route of app.routes) {
    const pattern = new RegExp("^" + route.path.replace(/:[^/]+/g, "[^/]+").replace(/\/$/, "") + "/?$");
    routeTable.push({ method: route.method, pattern });
  }
  return app;
}

export type App = ReturnType<typeof buildApp>;
