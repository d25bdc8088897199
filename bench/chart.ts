/**
 * The bench's rows drawn as one hand-written SVG (no dependency): for every scenario with a baseline,
 * ours beside the baseline, in two panels: throughput (req/s, msgs/s) and CPU per operation (µs).
 * Each scenario's bars share one scale (its largest value), so the panel shows ratios, not the
 * scenarios against each other; a whisker spans the range over the rounds. Pure: unit-tested.
 */
import type { Row } from "./table.ts";

const WIDTH = 960;
const BAR_X = 150;
const BAR_MAX = 640;
const BAR_HEIGHT = 16;
const GROUP_HEIGHT = 20 + 2 * (BAR_HEIGHT + 4) + 14;
const COLORS = { ours: "#2b6cb0", baseline: "#a0aec0", whisker: "#1a202c", fail: "#c53030", pass: "#2f855a" };

/** Text for XML: the five characters with a meaning in markup escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

const value = (n: number) => (Number.isNaN(n) ? "-" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));
const text = (x: number, y: number, content: string, attrs = "") => `<text x="${x}" y="${y}"${attrs ? ` ${attrs}` : ""}>${escapeXml(content)}</text>`;

/** The rows a panel draws: a baseline to compare with, and the panel's kind of figure. */
export function chartRows(rows: Row[]) {
  const compared = rows.filter((r) => !Number.isNaN(r.baseline));
  return { throughput: compared.filter((r) => r.unit === "ratio"), cpu: compared.filter((r) => r.unit === "µs") };
}

function bar(y: number, label: string, n: number, spread: [number, number] | undefined, scale: number, color: string): string[] {
  const width = Number.isNaN(n) || scale <= 0 ? 0 : (n / scale) * BAR_MAX;
  const out = [text(20, y + BAR_HEIGHT - 4, label, 'class="label"'), `<rect x="${BAR_X}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}"/>`];
  let end = BAR_X + width;
  if (spread && !Number.isNaN(spread[0]) && spread[1] > spread[0] && scale > 0) {
    const [x1, x2] = spread.map((v) => BAR_X + (v / scale) * BAR_MAX) as [number, number];
    const mid = y + BAR_HEIGHT / 2;
    out.push(`<path d="M${x1.toFixed(1)} ${mid}H${x2.toFixed(1)}M${x1.toFixed(1)} ${mid - 4}V${mid + 4}M${x2.toFixed(1)} ${mid - 4}V${mid + 4}" stroke="${COLORS.whisker}" fill="none"/>`);
    end = Math.max(end, x2);
  }
  out.push(text(Math.round(end + 6), y + BAR_HEIGHT - 4, value(n), 'class="value"'));
  return out;
}

function panel(title: string, note: string, list: Row[], top: number): { svg: string[]; height: number } {
  const out = [text(20, top + 18, title, 'class="panel"'), text(20, top + 34, note, 'class="note"')];
  let y = top + 48;
  if (!list.length) out.push(text(20, y + 14, "no rows in this run", 'class="note"')), (y += 24);
  for (const r of list) {
    const scale = Math.max(...[r.ours, r.baseline, ...(r.range ? [...r.range.ours, ...r.range.baseline] : [])].filter((n) => !Number.isNaN(n)), 0);
    const verdict = r.target === "info" ? "info" : `target ${r.target}: ${r.pass ? "pass" : "FAIL"}`;
    const ratio = Number.isNaN(r.ours / r.baseline) ? "-" : (r.ours / r.baseline).toFixed(2);
    out.push(text(20, y + 14, `${r.scenario}`, 'class="scenario"'), text(WIDTH - 20, y + 14, `ratio ${ratio}, ${verdict}`, `class="verdict" fill="${r.target === "info" ? "#4a5568" : r.pass ? COLORS.pass : COLORS.fail}"`));
    out.push(...bar(y + 20, "ours", r.ours, r.range?.ours, scale, COLORS.ours));
    out.push(...bar(y + 20 + BAR_HEIGHT + 4, r.baselineName ?? "baseline", r.baseline, r.range?.baseline, scale, COLORS.baseline));
    y += GROUP_HEIGHT;
  }
  return { svg: out, height: y - top + 10 };
}

/** The whole chart as an SVG document. */
export function chartSvg(rows: Row[], title: string): string {
  const { throughput, cpu } = chartRows(rows);
  const head = 70;
  const first = panel("Throughput (higher is better)", "requests/s or messages/s; ours and the baseline measured back to back in each round", throughput, head);
  const second = panel("CPU per operation, µs (lower is better)", "kernel CPU time (utime + stime) of the processes involved ÷ operations completed", cpu, head + first.height);
  const height = head + first.height + second.height + 10;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">`,
    `<style>.title{font-size:16px;font-weight:bold}.panel{font-size:14px;font-weight:bold}.note{font-size:11px;fill:#4a5568}.scenario{font-size:12px}.verdict{font-size:11px;text-anchor:end}.label{font-size:11px}.value{font-size:11px}</style>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(20, 24, title, 'class="title"'),
    `<rect x="20" y="36" width="12" height="12" fill="${COLORS.ours}"/>`,
    text(38, 46, "ours", 'class="label"'),
    `<rect x="80" y="36" width="12" height="12" fill="${COLORS.baseline}"/>`,
    text(98, 46, "baseline (named at its bar)", 'class="label"'),
    text(280, 46, "each scenario on its own scale; whiskers: min–max over the rounds", 'class="note"'),
    ...first.svg,
    ...second.svg,
    `</svg>`,
    "",
  ].join("\n");
}
