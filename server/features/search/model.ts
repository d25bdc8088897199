import { t } from "elysia";
import { Page, ResponseInteger, Timestamp, component } from "../../common/models.ts";

export const SearchHit = t.Object(
  {
    number: ResponseInteger({ minimum: 1 }),
    body: t.String(),
    created_at: Timestamp,
    highlight: t.String({ description: "the whole body, HTML-escaped, with the matched parts in <em>…</em>" }),
  },
  { ...component("SearchHit"), description: "A message that matches the query" },
);

export const SearchPage = Page(SearchHit, "SearchPage", "A page of search hits, best first (exact words rank above fragments)");

export const SearchQuery = t.Object({
  q: t.Optional(t.String({ description: "1..256 characters; every word must match (whole word, prefix, or a 3+ character fragment)" })),
  // An alias of q, accepted and not documented (the refined OpenAPI document requires q).
  query: t.Optional(t.String({ description: "alias of q" })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 25 })),
  cursor: t.Optional(t.String({ pattern: "^[A-Za-z0-9_-]{16}$", description: "opaque cursor from the previous page's next_cursor" })),
});
