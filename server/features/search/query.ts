/**
 * Turns user text into an Elasticsearch query without ever parsing it as query syntax: the text is
 * split on whitespace and each word goes into `match` queries, which only analyze it. Every word
 * must match, on at least one of: the whole folded word (best score), a word prefix, or — for
 * fragments of 3+ characters — a fragment inside a word (lowest score).
 */
import { MAX_GRAM } from "../../../core/search/index.ts";

export const MAX_WORDS = 32;

export function words(q: string): string[] {
  return q.split(/\s+/u).filter(Boolean).slice(0, MAX_WORDS);
}

const length = (word: string) => [...word].length;

export function buildQuery(q: string, chat: string) {
  const must = words(q).map((word) => ({
    bool: {
      should: [
        { match: { body: { query: word, operator: "and", boost: 6 } } },
        { match: { "body.prefixes": { query: word, operator: "and", boost: 3 } } },
        ...(length(word) >= 3 && length(word) <= MAX_GRAM ? [{ match: { "body.grams": { query: word, operator: "and", boost: 1 } } }] : []),
      ],
      minimum_should_match: 1,
    },
  }));
  return { bool: { filter: [{ term: { chat } }], must } };
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * Lowercase and strip accents per character, keeping a map back to the original positions (null:
 * each position is its own, the text being ASCII, as most is: lowered in one call, no map). Other
 * text pays for NFD and the mark-stripping pattern, per non-ASCII character.
 */
function fold(text: string): { folded: string; origin: number[] | null } {
  if (ASCII.test(text)) return { folded: text.toLowerCase(), origin: null };
  let folded = "";
  const origin: number[] = [];
  let i = 0;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x80) {
      folded += code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 0x20) : ch;
      origin.push(i);
    } else {
      const f = ch.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
      for (let k = 0; k < f.length; k++) origin.push(i);
      folded += f;
    }
    i += ch.length;
  }
  origin.push(text.length);
  return { folded, origin };
}

const wordChar = /[\p{L}\p{N}]/u;

/**
 * A highlighter for the query `q` (its words folded once, for every hit): the whole body,
 * HTML-escaped, with every part that a query word matched wrapped in <em>: fragments of 3+
 * characters anywhere, shorter ones at the start of a word, ignoring case and accents.
 * (Elasticsearch's highlighter cannot do this: the n-gram filter keeps the whole word's offsets.)
 */
export function highlighter(q: string): (body: string) => string {
  const tokens = words(q).flatMap((w) => fold(w).folded.match(/[\p{L}\p{N}]+/gu) ?? []);
  return (body) => {
    const { folded, origin } = fold(body);
    const marked = new Uint8Array(body.length);
    for (const token of tokens) {
      const short = [...token].length < 3;
      for (let at = folded.indexOf(token); at !== -1; at = folded.indexOf(token, at + 1)) {
        if (short && at > 0 && wordChar.test(folded[at - 1]!)) continue;
        const [from, to] = origin ? [origin[at]!, origin[at + token.length]!] : [at, at + token.length];
        marked.fill(1, from, to);
      }
    }
    // Runs of marked and unmarked text, each escaped in one go.
    let out = "";
    for (let i = 0; i < body.length; ) {
      let j = i + 1;
      while (j < body.length && marked[j] === marked[i]) j++;
      const text = escapeHtml(body.slice(i, j));
      out += marked[i] ? `<em>${text}</em>` : text;
      i = j;
    }
    return out;
  };
}

/** `highlighter(q)` applied to one body. */
export function highlightBody(body: string, q: string): string {
  return highlighter(q)(body);
}

const entities: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!);
}
