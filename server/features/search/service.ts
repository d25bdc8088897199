import type { Deps } from "../../deps.ts";
import { chatKey } from "../../../core/search/index.ts";
import { decodeSearchCursor, encodeSearchCursor } from "../../common/cursor.ts";
import { buildQuery, highlighter, words } from "./query.ts";

type Source = { number: number; body: string; created_at: number };


export async function searchMessages(deps: Deps, opts: { appId: number; chat: number; q: string; limit: number; cursor?: string }) {
  const after = opts.cursor === undefined ? undefined : decodeSearchCursor(opts.cursor);
  // Nothing to match, or a cursor past every possible hit: an empty page.
  if (!words(opts.q).length || (after && !(Number.isFinite(after.score) && after.score >= 0))) return { data: [], next_cursor: null };
  const key = chatKey(opts.appId, opts.chat);
  const result = await deps.es.search<Source>({
    index: deps.config.searchIndex,
    routing: key,
    size: opts.limit + 1,
    query: buildQuery(opts.q, key) as never,
    sort: [{ _score: "desc" }, { number: "desc" }] as never,
    ...(after ? { search_after: [after.score, after.number] } : {}),
    track_total_hits: false,
  });
  const hits = result.hits.hits.slice(0, opts.limit);
  const highlight = highlighter(opts.q);
  const data = hits.map((hit) => {
    const source = hit._source!;
    return {
      number: source.number,
      body: source.body,
      created_at: new Date(source.created_at).toISOString(),
      highlight: highlight(source.body),
    };
  });
  const last = hits[hits.length - 1];
  return { data, next_cursor: result.hits.hits.length > opts.limit && last ? encodeSearchCursor(Number(last._score), last._source!.number) : null };
}
