/**
 * The web client's reading of a search hit's `highlight` (web/highlight.ts): the API's HTML-escaped
 * body with `<em>` around matches becomes runs of plain text, marked or not, without an HTML parser.
 * Checked against the server's own highlighter: the runs always spell the body exactly, whatever
 * characters it holds, and the marked runs are what the server wrapped in <em>.
 */
import { describe, expect, test } from "bun:test";
import { highlightBody } from "../../server/features/search/query.ts";
import { highlightRuns, unescapeHtml } from "../../web/highlight.ts";

describe("web client: search highlights", () => {
  test("marked and unmarked runs, entities decoded", () => {
    expect(highlightRuns("H<em>ello</em> &lt;b&gt; &amp; &quot;x&quot; &#39;y&#39;")).toEqual([
      { text: "H", marked: false },
      { text: "ello", marked: true },
      { text: ` <b> & "x" 'y'`, marked: false },
    ]);
    expect(highlightRuns("")).toEqual([]);
    expect(highlightRuns("<em>all</em>")).toEqual([{ text: "all", marked: true }]);
  });

  test("numeric references decode; anything else stays as written", () => {
    expect(unescapeHtml("&#x1F600; &#233; &nbsp; &bogus; & &#0; &#x110000;")).toBe("😀 é &nbsp; &bogus; & &#0; &#x110000;");
  });

  test("the runs of the server's highlight spell the body exactly, tags and entities in it included", () => {
    const bodies = [
      "Hello world",
      "<em>not a tag</em> &amp; &lt;",
      '<script>alert("x")</script> yellow',
      "Hélló wörld, ÉLLO\nsecond line\tтаб 😀 مرحبا",
      "&#39; ' \" & < >",
    ];
    for (const body of bodies) {
      for (const q of ["ell", "ello", "em", "amp", "lt", "x", "é", "script"]) {
        const runs = highlightRuns(highlightBody(body, q));
        expect(runs.map((run) => run.text).join("")).toBe(body);
        const marked = runs.filter((run) => run.marked).map((run) => run.text);
        const expected = [...highlightBody(body, q).matchAll(/<em>(.*?)<\/em>/g)].map((m) => unescapeHtml(m[1]!));
        expect(marked).toEqual(expected);
      }
    }
    expect(highlightRuns(highlightBody("<em>Hello</em>", "ello"))).toEqual([
      { text: "<em>H", marked: false },
      { text: "ello", marked: true },
      { text: "</em>", marked: false },
    ]);
  });
});
