/**
 * The one table `bun run bench` prints: scenario, ours, baseline, ratio, range, target, pass/fail;
 * the same rows as JSON under bench/results/ (git-ignored), and drawn as an SVG chart beside it
 * (chart.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { chartSvg } from "./chart.ts";
import { median, range } from "./rounds.ts";

export type Row = {
  scenario: string;
  ours: number;
  baseline: number;
  target: string;
  pass: boolean;
  /** "ratio": a throughput (req/s, msgs/s) judged by its ratio to the baseline; "µs": CPU per operation. */
  unit: "ratio" | "ms" | "MB" | "bytes" | "µs";
  /** What the baseline is (the chart's label for its bar). */
  baselineName?: string;
  /** Over several rounds: ours and the baseline are medians, and these their [min, max]. */
  range?: { ours: [number, number]; baseline: [number, number] };
  /** What the row's figures are made of (CPU seconds per process, counts, every round…): JSON only. */
  detail?: Record<string, unknown>;
};
const rows: Row[] = [];

export function addRow(scenario: string, ours: number, baseline: number, target: string, pass: boolean, unit: Row["unit"], detail?: Row["detail"]) {
  rows.push({ scenario, ours, baseline, target, pass: pass && !Number.isNaN(ours), unit, ...(detail ? { detail } : {}) });
}

/**
 * A row measured in rounds: the medians of ours and of the baseline, judged by `pass` on those
 * medians; every round's values, their ratios and the ranges go to `detail`.
 */
export function addRoundsRow(row: { scenario: string; ours: number[]; baseline: number[]; baselineName: string; target: string; pass: (ours: number, baseline: number) => boolean; unit: Row["unit"]; detail?: Record<string, unknown> }) {
  const ours = median(row.ours);
  const baseline = median(row.baseline);
  const spread = { ours: range(row.ours), baseline: range(row.baseline) };
  const ratios = row.ours.map((v, i) => v / row.baseline[i]!);
  rows.push({
    scenario: row.scenario,
    ours,
    baseline,
    target: row.target,
    pass: row.pass(ours, baseline) && !Number.isNaN(ours),
    unit: row.unit,
    baselineName: row.baselineName,
    range: spread,
    detail: { rounds: { ours: row.ours, baseline: row.baseline, ratio: ratios }, range: { ...spread, ratio: range(ratios) }, ...row.detail },
  });
}

export const fmt = (n: number) => (Number.isNaN(n) ? "-" : Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));

/** Short form for the range column: 3 significant figures, k above 10,000. */
export const short = (n: number) => (Number.isNaN(n) ? "-" : Math.abs(n) >= 10_000 ? `${(n / 1000).toPrecision(3)}k` : Math.abs(n) >= 100 ? String(Math.round(n)) : n.toPrecision(3));

const spreadText = (r: Row) => (r.range ? `${short(r.range.ours[0])}–${short(r.range.ours[1])} / ${Number.isNaN(r.baseline) ? "-" : `${short(r.range.baseline[0])}–${short(r.range.baseline[1])}`}` : "");

/** The table as markdown lines (pure: the unit test renders it). */
export function renderTable(list: Row[], rounds: number): string[] {
  const header = ["scenario", "ours", "baseline", "ratio", `range of ${rounds} (ours / baseline)`, "target", "result"];
  const lines = list.map((r) => [
    r.scenario,
    fmt(r.ours),
    fmt(r.baseline),
    Number.isNaN(r.baseline) || Number.isNaN(r.ours) ? "-" : (r.ours / r.baseline).toFixed(2),
    spreadText(r),
    r.target,
    r.target === "info" ? "" : r.pass ? "pass" : "FAIL",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |";
  return [line(header), "|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|", ...lines.map(line)];
}

export function printTable(rounds: number) {
  for (const l of renderTable(rows, rounds)) console.log(l);
}

/**
 * Writes the rows to bench/results/<time>.json (NaN as null) and the chart to <time>.svg beside it;
 * returns both paths.
 */
export function writeResults(run: Record<string, unknown> & { rounds: number }): { json: string; svg: string } {
  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const finished = new Date();
  const base = join(dir, finished.toISOString().replace(/[:.]/g, "-"));
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() };
  // JSON has no NaN: JSON.stringify writes unknown figures (a CPU that could not be read) as null.
  const out = rows.map((r) => ({ ...r, ratio: r.ours / r.baseline }));
  writeFileSync(`${base}.json`, JSON.stringify({ finished: finished.toISOString(), machine, ...run, rows: out }, null, 2) + "\n");
  writeFileSync(`${base}.svg`, chartSvg(rows, `bun run bench, ${finished.toISOString().slice(0, 16).replace("T", " ")} UTC, median of ${run.rounds} round${run.rounds === 1 ? "" : "s"}`));
  return { json: `${base}.json`, svg: `${base}.svg` };
}
