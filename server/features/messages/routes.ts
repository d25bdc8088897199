import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { IdempotencyHeaders, ListQuery, errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { created } from "../../common/created.ts";
import { idempotencyOf } from "../../common/idempotency.ts";
import { rateLimit } from "../../common/ratelimit.ts";
import { methodNotAllowed } from "../../errors.ts";
import { ChatParams } from "../chats/model.ts";
import { Message, MessageInput, MessagePage, MessageParams } from "./model.ts";
import type { Services } from "../../services.ts";

export function messageRoutes(deps: Deps, { messages: service }: Services) {
  const tags = ["messages"];
  const chatOf = (p: { token: string; chat: string }) => [tokenParam(p.token), numberParam(p.chat, "chat")] as const;
  const messageOf = (p: { token: string; chat: string; message: string }, method: string) => {
    // …/messages/search is the search resource, served by GET only (searchRoutes).
    if (p.message === "search") throw methodNotAllowed(method, ["GET"]);
    return [...chatOf(p), numberParam(p.message, "message")] as const;
  };
  const update = ({ params: p, body, request }: { params: { token: string; chat: string; message: string }; body: { body: string }; request: Request }) =>
    service.update(...messageOf(p, request.method), body.body);

  // PATCH and PUT are the same operation.
  const edit = { params: MessageParams, body: MessageInput, response: { 200: Message, ...errors(400, 404, 405, 413, 415, 422, 429, 503) } };

  return new Elysia({ prefix: "/applications/:token/chats/:chat/messages" })
    .post(
      "/",
      async ({ params: p, body, set, request }) => {
        const [token, chat] = chatOf(p);
        const result = await service.create(token, chat, body.body, idempotencyOf(request, `/chats/${chat}/messages`, body.body));
        created(set, deps.metrics, "message", `/api/v1/applications/${token}/chats/${chat}/messages/${result.message.number}`, result.replayed);
        return result.message;
      },
      {
        params: ChatParams,
        headers: IdempotencyHeaders,
        body: MessageInput,
        response: { 201: Message, ...errors(400, 404, 409, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "messages.create", summary: "Post a message", description: "The next message number of the chat is allocated atomically; no database write on this path." },
      },
    )
    // A create takes its rate-limit token inside its script; everything after here takes one first.
    .onBeforeHandle(rateLimit(deps))
    .get("/", ({ params: p, query }) => service.list(...chatOf(p), query.limit ?? 25, query.order ?? "asc", query.cursor), {
      params: ChatParams,
      query: ListQuery,
      response: { 200: MessagePage, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "messages.list", summary: "List messages" },
    })
    .get("/:message", ({ params: p, request }) => service.get(...messageOf(p, request.method)), {
      params: MessageParams,
      response: { 200: Message, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "messages.get", summary: "Get a message" },
    })
    .patch("/:message", update, { ...edit, detail: { tags, operationId: "messages.update", summary: "Edit a message" } })
    .put("/:message", update, { ...edit, detail: { tags, operationId: "messages.replace", summary: "Edit a message (same as PATCH)" } })
    .delete(
      "/:message",
      async ({ params: p, set, request }) => {
        await service.remove(...messageOf(p, request.method));
        set.status = 204;
      },
      {
        params: MessageParams,
        // A DELETE may carry a body, which is read (and refused) like any other.
        response: { 204: t.Void(), ...errors(400, 404, 405, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "messages.delete", summary: "Delete a message" },
      },
    );
}
