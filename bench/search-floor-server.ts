/**
 * A minimal program for the search row, outside the API's code: bare Elysia that builds the API's
 * query (server/features/search/query.ts), POSTs it to Elasticsearch over Bun's fetch, parses the
 * answer and returns the hits as JSON (the body as highlight: no highlighting). MODE=bun-pipe: a bare
 * Bun.serve that forwards the query and returns Elasticsearch's bytes unparsed. What the API's search
 * costs above Elasticsearch directly and this program shares is one more HTTP hop in Bun (server and
 * fetch client) on the same two cores. `bun bench/search-floor-server.ts` with SEARCH_INDEX, PORT;
 * GET /api/v1/applications/<any>/chats/<chat>/messages/search?q=…, application id 1.
 */
import { Elysia } from "elysia";
import { buildQuery } from "../server/features/search/query.ts";

const index = process.env.SEARCH_INDEX ?? "messages_bench";
const es = process.env.ELASTICSEARCH_URL ?? "http://127.0.0.1:9200";
const port = Number(process.env.PORT ?? 3942);
const post = (q: string, chat: string) =>
  fetch(`${es}/${index}/_search?routing=${encodeURIComponent(`1:${chat}`)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ size: 26, query: buildQuery(q, `1:${chat}`), sort: [{ _score: "desc" }, { number: "desc" }], track_total_hits: false }),
  });

type Hit = { _source: { number: number; body: string; created_at: number } };
if (process.env.MODE === "bun-pipe") {
  Bun.serve({
    port,
    async fetch(request) {
      const url = new URL(request.url);
      const chat = url.pathname.split("/")[5] ?? "1";
      const answer = await post(url.searchParams.get("q") ?? "", chat);
      return new Response(await answer.arrayBuffer(), { headers: { "content-type": "application/json" } });
    },
  });
} else {
  new Elysia()
    .get("/api/v1/applications/:token/chats/:chat/messages/search", async ({ params, query }) => {
      const answer = (await (await post(String(query.q ?? ""), params.chat)).json()) as { hits: { hits: Hit[] } };
      const hits = answer.hits.hits.slice(0, 25).map(({ _source: s }) => ({ number: s.number, body: s.body, created_at: new Date(s.created_at).toISOString(), highlight: s.body }));
      return { data: hits, next_cursor: null };
    })
    .listen(port);
}
