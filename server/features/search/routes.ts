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

/** Tokens whose application id a search has already confirmed: at most this many are remembered. */
const KNOWN_APPLICATIONS = 10_000;

export function searchRoutes(deps: Deps, { guard }: Services) {
  // token → application id, as the chat check last answered it. An application's id never changes
  // and a token is never reused, so a known token's search need not wait for the check to build its
  // query: the check (one Redis round trip) and the Elasticsearch query run at the same time, and
  // the check still decides (a chat that is not live is a 404, whatever the query found).
  const applicationIds = new Map<string, number>();
  return new Elysia().onBeforeHandle(rateLimit(deps)).get(
    "/applications/:token/chats/:chat/messages/search",
    async ({ params, query }) => {
      const token = tokenParam(params.token);
      const chat = numberParam(params.chat, "chat");
      const q = query.q ?? query.query;
      if (q === undefined || q.length === 0) throw badRequest("q is required (1..256 characters)");
      if ([...q].length > 256) throw badRequest("q is longer than 256 characters");
      const search = (appId: number) => searchMessages(deps, { appId, chat, q, limit: query.limit ?? 25, cursor: query.cursor });
      const known = applicationIds.get(token);
      if (known === undefined) {
        const appId = await guard.liveChat(token, chat);
        if (applicationIds.size >= KNOWN_APPLICATIONS) applicationIds.clear();
        applicationIds.set(token, appId);
        return search(appId);
      }
      const searching = search(known);
      // Handled here, answered below: the check's answer comes first, its 404 (or 503) is the
      // response even when the query failed too.
      searching.catch(() => {});
      await guard.liveChat(token, chat);
      return searching;
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
