/** The one table `bun run bench` prints: scenario, ours, baseline, ratio, target, pass/fail. */
type Row = { scenario: string; ours: number; baseline: number; target: string; pass: boolean; unit: "ratio" | "ms" | "MB" | "bytes" };
const rows: Row[] = [];

export function addRow(scenario: string, ours: number, baseline: number, target: string, pass: boolean, unit: Row["unit"]) {
  rows.push({ scenario, ours, baseline, target, pass, unit });
}

const fmt = (n: number) => (Number.isNaN(n) ? "-" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));

export function printTable() {
  const header = ["scenario", "ours", "baseline", "ratio", "target", "result"];
  const lines = rows.map((r) => [
    r.scenario,
    fmt(r.ours),
    fmt(r.baseline),
    Number.isNaN(r.baseline) ? "-" : (r.ours / r.baseline).toFixed(2),
    r.target,
    r.target === "info" ? "" : r.pass ? "pass" : "FAIL",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|");
  for (const l of lines) console.log(line(l));
}
