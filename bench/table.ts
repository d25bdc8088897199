/**
 * The one table `bun run bench` prints: scenario, ours, baseline, ratio, target, pass/fail; and the
 * same rows as JSON under bench/results/ (git-ignored).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";

type Row = {
  scenario: string;
  ours: number;
  baseline: number;
  target: string;
  pass: boolean;
  unit: "ratio" | "ms" | "MB" | "bytes" | "µs";
  /** What the row's figures are made of (CPU seconds per process, counts…): JSON only. */
  detail?: Record<string, unknown>;
};
const rows: Row[] = [];

export function addRow(scenario: string, ours: number, baseline: number, target: string, pass: boolean, unit: Row["unit"], detail?: Row["detail"]) {
  rows.push({ scenario, ours, baseline, target, pass: pass && !Number.isNaN(ours), unit, ...(detail ? { detail } : {}) });
}

const fmt = (n: number) => (Number.isNaN(n) ? "-" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));

export function printTable() {
  const header = ["scenario", "ours", "baseline", "ratio", "target", "result"];
  const lines = rows.map((r) => [
    r.scenario,
    fmt(r.ours),
    fmt(r.baseline),
    Number.isNaN(r.baseline) || Number.isNaN(r.ours) ? "-" : (r.ours / r.baseline).toFixed(2),
    r.target,
    r.target === "info" ? "" : r.pass ? "pass" : "FAIL",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
  for (const l of lines) console.log(line(l));
}

/** Writes the rows to bench/results/<time>.json (NaN as null) and returns the file's path. */
export function writeResults(run: Record<string, unknown>): string {
  const dir = join(import.meta.dir, "results");
  mkdirSync(dir, { recursive: true });
  const finished = new Date();
  const file = join(dir, `${finished.toISOString().replace(/[:.]/g, "-")}.json`);
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() };
  const clean = (n: number) => (Number.isNaN(n) ? null : n);
  const out = rows.map((r) => ({ ...r, ours: clean(r.ours), baseline: clean(r.baseline), ratio: clean(r.ours / r.baseline) }));
  writeFileSync(file, JSON.stringify({ finished: finished.toISOString(), machine, ...run, rows: out }, null, 2) + "\n");
  return file;
}
