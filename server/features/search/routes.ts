import { Elysia } from "elysia";
import type { Deps } from "../../deps.ts";
import { errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { badRequest } from "../../errors.ts";
import { ChatParams } from "../chats/model.ts";
import type { Services } from "../../services.ts";
import { rateLimit } from "../../common/ratelimit.ts";
import { SearchPage, SearchQuery } from "./model.ts";
import { searchMessages } from "./service.ts";

export function searchRoutes(deps: Deps, { guard }: Services) {
  return new Elysia().onBeforeHandle(rateLimit(deps)).get(
    "/applications/:token/chats/:chat/messages/search",
    async ({ params, query }) => {
      const token = tokenParam(params.token);
      const chat = numberParam(params.chat, "chat");
      const q = query.q ?? query.query;
      if (q === undefined || q.length === 0) throw badRequest("q is required (1..256 characters)");
      if ([...q].length > 256) throw badRequest("q is longer than 256 characters");
      const appId = await guard.liveChat(token, chat);
      return searchMessages(deps, { appId, chat, q, limit: query.limit ?? 25, cursor: query.cursor });
    },
    {
      params: ChatParams,
      query: SearchQuery,
      response: { 200: SearchPage, ...errors(400, 404, 429, 503) },
      detail: {
        tags: ["search"],
        operationId: "messages.search",
        summary: "Search the messages of a chat",
        description: "Case- and accent-insensitive partial matching; exact words rank first.",
      },
    },
  );
}
