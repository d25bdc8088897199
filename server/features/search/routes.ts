import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { Timestamp, errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { badRequest } from "../../errors.ts";
import { ChatParams } from "../chats/model.ts";
import type { Services } from "../../services.ts";
import { searchMessages } from "./service.ts";

export const SearchHit = t.Object(
  {
    number: t.Integer({ minimum: 1 }),
    body: t.String(),
    created_at: Timestamp,
    highlight: t.String({ description: "the whole body, HTML-escaped, with the matched parts in <em>…</em>" }),
  },
  { $id: "#/components/schemas/SearchHit" },
);

const SearchQuery = t.Object({
  q: t.Optional(t.String({ description: "1..256 characters; every word must match (whole word, prefix, or a 3+ character fragment)" })),
  // An alias of q, accepted and not documented (the refined OpenAPI document requires q).
  query: t.Optional(t.String({ description: "alias of q" })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: t.Optional(t.String({ pattern: "^[A-Za-z0-9_-]{16}$", description: "opaque cursor from the previous page's next_cursor" })),
});

export function searchRoutes(deps: Deps, { guard }: Services) {
  return new Elysia().get(
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
      response: { 200: t.Object({ data: t.Array(SearchHit), next_cursor: t.Union([t.String(), t.Null()]) }), ...errors(400, 404, 429, 503) },
      detail: { tags: ["search"], summary: "Search the messages of a chat", description: "Case- and accent-insensitive partial matching; exact words rank first." },
    },
  );
}
