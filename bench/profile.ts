/**
 * `bun run bench:profile`: where the CPU of a create goes. Starts one API with `bun --cpu-prof`
 * (Redis db 3, the bench database) and runs the bench's create load (wrk, 2 threads, 64
 * connections, 50 chats) against it, with Redis' INFO commandstats reset just before. Prints the
 * API's top functions by self time (and by source file) and Redis' commands by CPU per create. The
 * profile (.cpuprofile, for Chrome DevTools) stays under bench/results/. Also prints the CPU per
 * create of the API and Redis from /proc, as `bun run bench` measures it; PROFILE=0 runs without the
 * profiler (which costs CPU itself), for before/after comparisons of that figure. Run `bun run bench`
 * once first (it creates chat_bench); PROFILE_SECONDS (default 10).
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import Redis from "ioredis";
import { commands, meter, pidOfPort, perOp, sum } from "./cpu.ts";
import { wrk } from "./load.ts";

const root = join(import.meta.dir, "..");
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const dir = join(import.meta.dir, "results", `profile-${new Date().toISOString().replace(/[:.]/g, "-")}`);
mkdirSync(dir, { recursive: true });
const env = {
  ...process.env,
  DATABASE_URL: "mysql://chat:chat@127.0.0.1:3306/chat_bench",
  REDIS_URL: "redis://127.0.0.1:6379/3",
  REDIS_CLUSTER_NODES: "",
  REDIS_WAIT_REPLICAS: "",
  SEARCH_INDEX: "messages_bench",
  LOG_LEVEL: "warn",
  RATE_LIMIT_PER_MINUTE: "",
  PORT: "3921",
} as Record<string, string>;

const redis = new Redis(env.REDIS_URL!);
await redis.flushdb();
const profiling = process.env.PROFILE !== "0";
const api = Bun.spawn(["bun", ...(profiling ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), join(root, "server/main.ts")], { cwd: root, env, stdout: "ignore", stderr: "inherit" });
const API = "http://127.0.0.1:3921/api/v1";
for (let i = 0; !(await fetch("http://127.0.0.1:3921/healthz").then((r) => r.ok, () => false)); i++) {
  if (i > 200) throw new Error("the API did not come up");
  await Bun.sleep(50);
}
const post = (path: string, body: unknown) => fetch(`${API}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
const { token } = await post("/applications", { name: "profile" });
for (let i = 0; i < 51; i++) await post(`/applications/${token}/chats`, { name: `chat ${i}` });
await redis.config("RESETSTAT");
const cpu = meter({ api: api.pid, redis: pidOfPort(Number(new URL(env.REDIS_URL!).port || 6379), commands.redis) });
const run = await wrk(`${API}/applications/${token}/chats/`, join(import.meta.dir, "create-message.lua"), seconds);
const used = cpu.stop();
const stats = await redis.info("commandstats");
api.kill("SIGTERM");
await api.exited;
await redis.flushdb();
redis.disconnect();
const creates = run.requests - run.non2xx;
console.log(`${creates} creates in ${seconds} s (${Math.round(run.rps)}/s, ${run.non2xx} non-2xx)`);
console.log(`CPU per create: API ${perOp(used.api ?? NaN, creates).toFixed(1)} µs + Redis ${perOp(used.redis ?? NaN, creates).toFixed(1)} µs = ${perOp(sum(used), creates).toFixed(1)} µs${profiling ? " (with the profiler running)" : ""}\n`);

// Redis: CPU per create of each command (usec is the command's own time, scripts include their calls).
console.log("Redis INFO commandstats, µs per create:");
const rows = [...stats.matchAll(/cmdstat_(\S+):calls=(\d+),usec=(\d+)/g)].map(([, name, calls, usec]) => ({ name: name!, calls: Number(calls), perCreate: Number(usec) / creates }));
for (const r of rows.sort((a, b) => b.perCreate - a.perCreate).slice(0, 12)) console.log(`  ${r.name.padEnd(24)} ${r.perCreate.toFixed(2).padStart(8)} µs   ${(r.calls / creates).toFixed(2)} calls per create`);

if (!profiling) process.exit(0);
// The API: self time per function and per source file, from the sampled profile.
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error(`no .cpuprofile in ${dir}`);
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const where = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\//, "");
  const rel = url.startsWith(root) ? relative(root, url) : url;
  return rel.replace(/^node_modules\//, "") || "(native)";
};
const group = (key: (n: Node) => string) => {
  const out = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === "(idle)" || n.callFrame.functionName === "(program)") continue;
    out.set(key(n), (out.get(key(n)) ?? 0) + us);
  }
  return [...out].sort((a, b) => b[1] - a[1]);
};
const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === "(idle)").reduce((a, [, us]) => a + us, 0);
console.log(`\nAPI profile: ${(total / 1e6).toFixed(1)} s sampled, ${((idle / total) * 100).toFixed(0)} % idle; µs of self time per create:`);
for (const [name, us] of group((n) => `${n.callFrame.functionName || "(anonymous)"} ${where(n)}:${n.callFrame.lineNumber + 1}`).slice(0, 25)) console.log(`  ${(us / creates).toFixed(2).padStart(7)}  ${name}`);
console.log("\nby source (package or file):");
for (const [name, us] of group((n) => where(n).split("/").slice(0, where(n).startsWith("@") ? 2 : 1).join("/")).slice(0, 12)) console.log(`  ${(us / creates).toFixed(2).padStart(7)}  ${name}`);
console.log(`\nprofile: ${relative(root, join(dir, file))}`);
process.exit(0);
