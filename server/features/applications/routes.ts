import { createHash, timingSafeEqual } from "node:crypto";
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { IdempotencyHeaders, ListQuery, TokenParams, errors } from "../../common/models.ts";
import { tokenParam } from "../../common/params.ts";
import { forbidden, unauthorized } from "../../errors.ts";
import { created } from "../../common/created.ts";
import { fingerprint, idempotencyKey } from "../../common/idempotency.ts";
import { rateLimit } from "../../common/ratelimit.ts";
import { Application, ApplicationInput, ApplicationPage } from "./model.ts";
import type { Services } from "../../services.ts";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Constant-time check of `Authorization: Bearer <ADMIN_API_KEY>`. */
function requireAdmin(header: string | null, adminKey: string) {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) throw unauthorized("admin key required: send Authorization: Bearer <ADMIN_API_KEY>");
  if (!timingSafeEqual(digest(match[1]!.trim()), digest(adminKey))) throw forbidden("wrong admin key");
}

export function applicationRoutes(deps: Deps, { applications: service }: Services) {
  const adminKey = deps.config.adminApiKey;
  const tags = ["applications"];

  // PATCH and PUT are the same operation.
  const rename = ({ params, body }: { params: { token: string }; body: { name: string } }) => service.update(tokenParam(params.token), body.name);
  const renameOptions = { params: TokenParams, body: ApplicationInput, response: { 200: Application, ...errors(400, 404, 413, 415, 422, 429, 503) } };

  const routes = new Elysia({ prefix: "/applications" })
    .post(
      "/",
      async ({ body, set, request }) => {
        const key = idempotencyKey(request.headers.get("idempotency-key"));
        const { app, replayed } = key
          ? await service.createOnce(body.name, key, fingerprint("POST", "/applications", { name: body.name }))
          : { app: await service.create(body.name), replayed: false };
        created(set, deps.metrics, "application", `/api/v1/applications/${app.token}`, replayed);
        return app;
      },
      {
        body: ApplicationInput,
        headers: IdempotencyHeaders,
        response: { 201: Application, ...errors(400, 409, 413, 415, 422, 503) },
        detail: { tags, operationId: "applications.create", summary: "Create an application", description: "Returns the application with its secret token." },
      },
    )
    // Requests under a token take one from its rate limit (creating an application has no token yet).
    .onBeforeHandle(rateLimit(deps))
    .get("/:token", ({ params }) => service.get(tokenParam(params.token)), {
      params: TokenParams,
      response: { 200: Application, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "applications.get", summary: "Get an application" },
    })
    .patch("/:token", rename, { ...renameOptions, detail: { tags, operationId: "applications.update", summary: "Rename an application" } })
    .put("/:token", rename, { ...renameOptions, detail: { tags, operationId: "applications.replace", summary: "Rename an application (same as PATCH)" } })
    .delete(
      "/:token",
      async ({ params, set }) => {
        await service.remove(tokenParam(params.token));
        set.status = 204;
      },
      {
        params: TokenParams,
        // A DELETE may carry a body, which is read (and refused) like any other.
        response: { 204: t.Void(), ...errors(400, 404, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "applications.delete", summary: "Delete an application with its chats, messages and index entries" },
      },
    );

  if (!adminKey) return routes;
  return routes.get(
    "/",
    ({ query, request }) => {
      requireAdmin(request.headers.get("authorization"), adminKey);
      return service.list(query.limit ?? 25, query.order ?? "asc", query.cursor);
    },
    {
      query: ListQuery,
      response: { 200: ApplicationPage, ...errors(400, 401, 403, 503) },
      detail: {
        tags,
        operationId: "applications.list",
        summary: "List all applications (admin)",
        description: "Needs `Authorization: Bearer <ADMIN_API_KEY>`; the route exists only when ADMIN_API_KEY is set.",
        security: [{ adminKey: [] }],
      },
    },
  );
}
