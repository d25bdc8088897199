/**
 * The growth bench's output: one table on stdout, the same rows as JSON under bench/results/
 * (git-ignored), and a markdown version with the date and machine, ready for bench/README.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RedisClient } from "../../core/redis/client.ts";

export type GrowthRow = {
  level: number;
  /** Messages in MySQL (and Elasticsearch) when the reads and bytes were measured. */
  stored: number;
  /** Messages in the chat the list and search ran on. */
  chatMessages: number;
  createCpuUs: number;
  listP99Ms: number;
  searchP95Ms: number;
  esDirectP95Ms: number;
  mysqlBytes: number;
  esBytes: number;
  redisBytes: number;
  detail: Record<string, unknown>;
};

export function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? NaN);
  return {
    nproc: Number(Bun.spawnSync(["nproc"]).stdout.toString().trim()),
    model: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memGiB: Math.round((memKb / 1024 / 1024) * 10) / 10,
  };
}

/** INFO used_memory of the whole server (others' databases included). */
export const usedMemory = async (redis: RedisClient) => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);

/** MEMORY USAGE summed over this database's keys only (not disturbed by other clients' databases). */
export async function keysBytes(redis: RedisClient): Promise<{ keys: number; bytes: number }> {
  let cursor = "0";
  let keys = 0;
  let bytes = 0;
  do {
    const [next, found] = await (redis as import("ioredis").Redis).scan(cursor, "COUNT", 1000);
    cursor = next;
    if (!found.length) continue;
    const pipeline = redis.pipeline();
    for (const key of found) pipeline.memory("USAGE", key, "SAMPLES", 0);
    for (const [, size] of (await pipeline.exec()) ?? []) bytes += Number(size ?? 0);
    keys += found.length;
  } while (cursor !== "0");
  return { keys, bytes };
}

const n0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const n2 = (n: number) => (Number.isFinite(n) ? (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2)) : "-");
const header = ["level", "stored", "chat", "create CPU µs/msg", "list p99 ms", "search p95 ms", "ES-direct p95 ms", "MySQL B/msg", "ES B/msg", "Redis B/msg"];
const cells = (r: GrowthRow) => [n0(r.level), n0(r.stored), n0(r.chatMessages), n2(r.createCpuUs), n2(r.listP99Ms), n2(r.searchP95Ms), n2(r.esDirectP95Ms), n0(r.mysqlBytes), n0(r.esBytes), n2(r.redisBytes)];

export function printTable(rows: GrowthRow[]) {
  const lines = rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (c: string[]) => "| " + c.map((x, i) => x.padStart(widths[i]!)).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 1) + ":").join("|") + "|");
  for (const l of lines) console.log(line(l));
}

export function markdown(rows: GrowthRow[], m: ReturnType<typeof machine>, seconds: number, date: Date) {
  const out = [
    `Measured ${date.toISOString().slice(0, 10)} on ${m.nproc} cores (${m.model}), ${m.memGiB} GiB RAM, everything co-located; \`bun bench/growth.ts\`, GROWTH_SECONDS=${seconds}.`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---:").join("|")}|`,
    ...rows.map((r) => `| ${cells(r).join(" | ")} |`),
  ];
  return out.join("\n");
}

export function writeJson(run: Record<string, unknown>, rows: GrowthRow[], finished: Date): string {
  const dir = join(import.meta.dir, "..", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `growth-${finished.toISOString().replace(/[:.]/g, "-")}.json`);
  const clean = (_: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
  writeFileSync(file, JSON.stringify({ finished: finished.toISOString(), machine: machine(), ...run, rows }, clean, 2) + "\n");
  return file;
}
