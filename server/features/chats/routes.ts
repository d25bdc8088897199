import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { IdempotencyHeaders, ListQuery, TokenParams, errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { created } from "../../common/created.ts";
import { idempotencyOf } from "../../common/idempotency.ts";
import { rateLimit } from "../../common/ratelimit.ts";
import { validationFailed } from "../../errors.ts";
import { Chat, ChatCreate, ChatPage, ChatParams, ChatUpdate } from "./model.ts";
import type { Services } from "../../services.ts";


export function chatRoutes(deps: Deps, { chats: service }: Services) {
  const tags = ["chats"];
  const params = (p: { token: string; chat: string }) => [tokenParam(p.token), numberParam(p.chat, "chat")] as const;
  const update = ({ params: p, body }: { params: { token: string; chat: string }; body: { name?: string | null } }) => {
    if (!("name" in body)) throw validationFailed("name is required (a string, or null to clear it)");
    return service.update(...params(p), body.name ?? null);
  };

  // PATCH and PUT are the same operation.
  const rename = { params: ChatParams, body: ChatUpdate, response: { 200: Chat, ...errors(400, 404, 413, 415, 422, 429, 503) } };

  return new Elysia({ prefix: "/applications/:token/chats" })
    .post(
      "/",
      async ({ params: p, body, set, request }) => {
        const token = tokenParam(p.token);
        const name = body.name ?? null;
        const result = await service.create(token, name, idempotencyOf(request, "/chats", { name }));
        created(set, deps.metrics, "chat", `/api/v1/applications/${token}/chats/${result.chat.number}`, result.replayed);
        return result.chat;
      },
      {
        params: TokenParams,
        headers: IdempotencyHeaders,
        body: ChatCreate,
        response: { 201: Chat, ...errors(400, 404, 409, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "chats.create", summary: "Create a chat", description: "The next chat number of the application is allocated atomically." },
      },
    )
    // A create takes its rate-limit token inside its script; everything after here takes one first.
    .onBeforeHandle(rateLimit(deps))
    .get("/", ({ params: p, query }) => service.list(tokenParam(p.token), query.limit ?? 25, query.order ?? "asc", query.cursor), {
      params: TokenParams,
      query: ListQuery,
      response: { 200: ChatPage, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "chats.list", summary: "List chats" },
    })
    .get("/:chat", ({ params: p }) => service.get(...params(p)), {
      params: ChatParams,
      response: { 200: Chat, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "chats.get", summary: "Get a chat" },
    })
    .patch("/:chat", update, { ...rename, detail: { tags, operationId: "chats.update", summary: "Rename a chat (null clears the name)" } })
    .put("/:chat", update, { ...rename, detail: { tags, operationId: "chats.replace", summary: "Rename a chat (same as PATCH)" } })
    .delete(
      "/:chat",
      async ({ params: p, set }) => {
        await service.remove(...params(p));
        set.status = 204;
      },
      {
        params: ChatParams,
        // A DELETE may carry a body, which is read (and refused) like any other.
        response: { 204: t.Void(), ...errors(400, 404, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "chats.delete", summary: "Delete a chat and its messages" },
      },
    );
}
