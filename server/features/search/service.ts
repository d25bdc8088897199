import type { Deps } from "../../deps.ts";
import { chatKey } from "../../../core/search/index.ts";
import { badRequest } from "../../errors.ts";
import { buildQuery, highlightBody, words } from "./query.ts";

type Source = { number: number; body: string; created_at: number };

/** Search cursors carry the last hit's [score, number]: search_after over a stable sort. */
function encode(sort: unknown[]): string {
  return Buffer.from(JSON.stringify(sort)).toString("base64url");
}

function decode(cursor: string): [number, number] {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v))) return value as [number, number];
  } catch {}
  throw badRequest("invalid cursor");
}

export async function searchMessages(deps: Deps, opts: { appId: number; chat: number; q: string; limit: number; cursor?: string }) {
  const after = opts.cursor === undefined ? undefined : decode(opts.cursor);
  if (!words(opts.q).length) return { data: [], next_cursor: null };
  const key = chatKey(opts.appId, opts.chat);
  const result = await deps.es.search<Source>({
    index: deps.config.searchIndex,
    routing: key,
    size: opts.limit + 1,
    query: buildQuery(opts.q, key) as never,
    sort: [{ _score: "desc" }, { number: "desc" }] as never,
    ...(after ? { search_after: after } : {}),
    track_total_hits: false,
  });
  const hits = result.hits.hits.slice(0, opts.limit);
  const data = hits.map((hit) => {
    const source = hit._source!;
    return {
      number: source.number,
      body: source.body,
      created_at: new Date(source.created_at).toISOString(),
      highlight: highlightBody(source.body, opts.q),
    };
  });
  const last = hits[hits.length - 1];
  return { data, next_cursor: result.hits.hits.length > opts.limit && last?.sort ? encode(last.sort) : null };
}
