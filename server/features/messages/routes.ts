import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { IdempotencyHeaders, ListQuery, errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { fingerprint, idempotencyKey } from "../../common/idempotency.ts";
import { ChatParams } from "../chats/model.ts";
import { Message, MessageInput, MessagePage, MessageParams } from "./model.ts";
import type { Services } from "../../services.ts";

export function messageRoutes(deps: Deps, { messages: service }: Services) {
  const tags = ["messages"];
  const chatOf = (p: { token: string; chat: string }) => [tokenParam(p.token), numberParam(p.chat, "chat")] as const;
  const messageOf = (p: { token: string; chat: string; message: string }) => [...chatOf(p), numberParam(p.message, "message")] as const;
  const update = ({ params: p, body }: { params: { token: string; chat: string; message: string }; body: { body: string } }) =>
    service.update(...messageOf(p), body.body);

  return new Elysia({ prefix: "/applications/:token/chats/:chat/messages" })
    .post(
      "/",
      async ({ params: p, body, set, request }) => {
        const [token, chat] = chatOf(p);
        const key = idempotencyKey(request.headers.get("idempotency-key"));
        const result = await service.create(token, chat, body.body, key ? { key, fingerprint: fingerprint("POST", `/chats/${chat}/messages`, body.body) } : undefined);
        set.status = 201;
        set.headers.location = `/api/v1/applications/${token}/chats/${chat}/messages/${result.message.number}`;
        if (result.replayed) set.headers["idempotent-replayed"] = "true";
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
    .get("/", ({ params: p, query }) => service.list(...chatOf(p), query.limit ?? 25, query.order ?? "asc", query.cursor), {
      params: ChatParams,
      query: ListQuery,
      response: { 200: MessagePage, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "messages.list", summary: "List messages" },
    })
    .get("/:message", ({ params: p }) => service.get(...messageOf(p)), {
      params: MessageParams,
      response: { 200: Message, ...errors(400, 404, 429, 503) },
      detail: { tags, operationId: "messages.get", summary: "Get a message" },
    })
    .patch("/:message", update, {
      params: MessageParams,
      body: MessageInput,
      response: { 200: Message, ...errors(400, 404, 413, 415, 422, 429, 503) },
      detail: { tags, operationId: "messages.update", summary: "Edit a message" },
    })
    .put("/:message", update, {
      params: MessageParams,
      body: MessageInput,
      response: { 200: Message, ...errors(400, 404, 413, 415, 422, 429, 503) },
      detail: { tags, operationId: "messages.replace", summary: "Edit a message (same as PATCH)" },
    })
    .delete(
      "/:message",
      async ({ params: p, set }) => {
        await service.remove(...messageOf(p));
        set.status = 204;
      },
      {
        params: MessageParams,
        // A DELETE may carry a body, which is read (and refused) like any other.
        response: { 204: t.Void(), ...errors(400, 404, 413, 415, 422, 429, 503) },
        detail: { tags, operationId: "messages.delete", summary: "Delete a message" },
      },
    );
}
