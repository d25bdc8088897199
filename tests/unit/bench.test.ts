import { describe, expect, test } from "bun:test";
import { chartRows, chartSvg, escapeXml } from "../../bench/chart.ts";
import { inRounds, median, range, rotated, roundsFrom, warmUpCount } from "../../bench/rounds.ts";
import { renderTable, short, type Row } from "../../bench/table.ts";

/**
 * A small well-formedness check (no XML parser in Bun): every tag well-formed with quoted attributes
 * free of `<`, tags balanced with one root, and `&` only as an entity in text and attributes.
 */
function wellFormed(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const entity = /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/;
  const stack: string[] = [];
  let roots = 0;
  for (const token of body.match(/<[^>]*>|[^<]+/g) ?? []) {
    if (!token.startsWith("<")) {
      if (entity.test(token)) problems.push(`bare & in text: ${token}`);
      if (!stack.length && token.trim()) problems.push(`text outside the root: ${token}`);
      continue;
    }
    const tag = /^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (!tag) {
      problems.push(`malformed tag: ${token}`);
      continue;
    }
    const [, closing, name, attrs, selfClosing] = tag;
    if (entity.test(attrs!)) problems.push(`bare & in attributes: ${token}`);
    if (closing) {
      if (stack.pop() !== name) problems.push(`unbalanced </${name}>`);
    } else {
      if (!stack.length) roots++;
      if (!selfClosing) stack.push(name!);
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(", ")}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

const row = (over: Partial<Row>): Row => ({ scenario: "x", ours: 1, baseline: 2, target: "info", pass: true, unit: "ratio", ...over });

describe("bench rounds", () => {
  test("median of odd and even counts, NaN ignored, NaN when nothing is known", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, NaN, 1])).toBe(3);
    expect(median([NaN])).toBeNaN();
    expect(median([])).toBeNaN();
  });

  test("range is [min, max] of the known values", () => {
    expect(range([3, 1, NaN, 2])).toEqual([1, 3]);
    expect(range([NaN])).toEqual([NaN, NaN]);
  });

  test("rotation: no item always first; two items alternate", () => {
    expect([0, 1, 2].map((r) => rotated(["a", "b", "c"], r)[0])).toEqual(["a", "b", "c"]);
    expect(rotated(["a", "b", "c"], 4)).toEqual(["b", "c", "a"]);
    expect([0, 1, 2].map((r) => rotated(["ours", "raw"], r)[0])).toEqual(["ours", "raw", "ours"]);
    expect(rotated([], 3)).toEqual([]);
  });

  test("a drain's warm-up: a fifth in whole batches from 20 batches up, none below", () => {
    expect(warmUpCount(100_000, 2000)).toBe(20_000);
    expect(warmUpCount(40_000, 2000)).toBe(8000);
    expect(warmUpCount(45_000, 2000)).toBe(8000);
    expect(warmUpCount(39_999, 2000)).toBe(0);
    expect(warmUpCount(2000, 2000)).toBe(0);
  });

  test("inRounds runs each entrant once per round, in rotated order, results in round order", async () => {
    const ran: string[] = [];
    let n = 0;
    const results = await inRounds(3, { a: async () => (ran.push("a"), n++), b: async () => (ran.push("b"), n++) });
    expect(ran).toEqual(["a", "b", "b", "a", "a", "b"]);
    expect(results).toEqual({ a: [0, 3, 4], b: [1, 2, 5] });
  });

  test("BENCH_ROUNDS: default 3, refused below 1 or not a number", () => {
    expect(roundsFrom(undefined)).toBe(3);
    expect(roundsFrom("2")).toBe(2);
    expect(() => roundsFrom("0")).toThrow();
    expect(() => roundsFrom("many")).toThrow();
  });
});

describe("bench table", () => {
  test("a range column for rows measured in rounds, empty for the others", () => {
    const lines = renderTable(
      [
        row({ scenario: "create message (req/s)", ours: 15_000, baseline: 20_000, target: "≥ 0.50", pass: true, range: { ours: [14_200, 15_100], baseline: [19_000, 21_000] } }),
        row({ scenario: "API RSS (MB)", ours: 120, baseline: NaN, target: "≤ 150 MB", pass: false, unit: "MB" }),
      ],
      3,
    );
    expect(lines[0]).toContain("range of 3 (ours / baseline)");
    expect(lines[2]).toContain("14.2k–15.1k / 19.0k–21.0k");
    expect(lines[2]).toContain("0.75");
    expect(lines[2]).toContain("pass");
    expect(lines[3]).toContain("FAIL");
    // Every line has the same width: the columns line up.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(short(12.345)).toBe("12.3");
    expect(short(NaN)).toBe("-");
  });
});

describe("bench chart", () => {
  const rows: Row[] = [
    row({ scenario: "create message (req/s, wrk -c64)", ours: 15_000, baseline: 20_000, baselineName: "echo", target: "≥ 0.50", pass: true, range: { ours: [14_000, 16_000], baseline: [19_000, 21_000] } }),
    row({ scenario: "create CPU/req, API + Redis (µs)", ours: 80, baseline: 30, baselineName: "echo", target: "≤ 2.5", pass: false, unit: "µs" }),
    row({ scenario: 'worker → MySQL <"fast" & \'cheap\'> (msgs/s)', ours: 20_000, baseline: 100_000, baselineName: "raw INSERT", target: "≥ 0.70", pass: false }),
    row({ scenario: "worker → Elasticsearch CPU/msg (µs)", ours: NaN, baseline: NaN, baselineName: "raw _bulk", target: "≤ 1.25", pass: false, unit: "µs" }),
    row({ scenario: "API RSS after load (MB)", ours: 120, baseline: NaN, target: "≤ 150 MB", unit: "MB" }),
    row({ scenario: "search p95 (ms)", ours: 10, baseline: 8, target: "≤ 1.3× and ≤ 30 ms", unit: "ms" }),
  ];

  test("escapeXml escapes the five markup characters", () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
  });

  test("throughput and CPU panels take the rows with a baseline, by unit", () => {
    const { throughput, cpu } = chartRows(rows);
    expect(throughput.map((r) => r.scenario)).toEqual([rows[0]!.scenario, rows[2]!.scenario]);
    expect(cpu.map((r) => r.scenario)).toEqual([rows[1]!.scenario]);
  });

  test("the SVG is well-formed and labels every charted scenario, its baseline and values", () => {
    const svg = chartSvg(rows, "bench <smoke> & test");
    expect(wellFormed(svg)).toEqual([]);
    expect(svg.startsWith("<?xml")).toBe(true);
    for (const r of chartRows(rows).throughput.concat(chartRows(rows).cpu)) expect(svg).toContain(escapeXml(r.scenario));
    expect(svg).toContain(">echo<");
    expect(svg).toContain(">raw INSERT<");
    expect(svg).toContain(">15,000<");
    expect(svg).toContain("bench &lt;smoke&gt; &amp; test");
    expect(svg).not.toContain("API RSS");
  });

  test("an empty run still gives a well-formed chart", () => {
    expect(wellFormed(chartSvg([], "empty"))).toEqual([]);
  });

  test("the checker itself refuses broken markup", () => {
    expect(wellFormed("<svg><text>a & b</text></svg>").length).toBeGreaterThan(0);
    expect(wellFormed("<svg><text>a</svg>").length).toBeGreaterThan(0);
    expect(wellFormed('<svg><rect x="<"/></svg>').length).toBeGreaterThan(0);
  });
});
