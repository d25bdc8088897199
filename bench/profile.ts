/**
 * `bun run bench:profile`: where the CPU of a create goes, ours beside the complete floor
 * (complete-floor-server.ts: Elysia + one script doing all the spec asks of a create, flat, outside
 * our code) and the spec floor (spec-floor-server.ts: only SPEC §4.1's Redis work). Each
 * server in turn runs under `bun --cpu-prof` (Redis db 3, the bench database) with the bench's
 * create load (wrk, 2 threads, 64 connections, 50 chats), Redis' INFO commandstats reset just
 * before. Prints, for each: the CPU per create of the server and Redis from /proc (as `bun run
 * bench` measures it), Redis' commands by CPU per create, the server's top functions by self time;
 * then self time per create by source (package or file) for all three side by side: what our code adds
 * and where. The profiles (.cpuprofile, for Chrome DevTools) stay under bench/results/.
 * PROFILE=0 runs without the profiler (which costs CPU itself), for before/after comparisons of the
 * /proc figures. Run `bun run bench` once first (it creates chat_bench); PROFILE_SECONDS (default 10).
 */
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import Redis from "ioredis";
import { commands, meter, pidOfPort, perOp, sum } from "./cpu.ts";
import { env, root, up } from "./harness.ts";
import { ensureWrk, wrk } from "./load.ts";

const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const profiling = process.env.PROFILE !== "0";
const results = join(import.meta.dir, "results", `profile-${new Date().toISOString().replace(/[:.]/g, "-")}`);

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
type Profiled = { name: string; creates: number; byFunction: [string, number][]; bySource: Map<string, number> };

/** One server under the create load: /proc CPU, Redis commandstats, and its profile's self time per create. */
async function profile(o: { name: string; entry: string; port: number; ready: string; env?: Record<string, string>; prepare: () => Promise<{ url: string; script: string }> }, redis: Redis): Promise<Profiled> {
  const dir = join(results, o.name);
  mkdirSync(dir, { recursive: true });
  await redis.flushdb();
  const server = Bun.spawn(["bun", ...(profiling ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : []), join(root, o.entry)], { cwd: root, env: { ...env, ...o.env, PORT: String(o.port) }, stdout: "ignore", stderr: "inherit" });
  let measured: { run: Awaited<ReturnType<typeof wrk>>; used: Record<string, number>; stats: string };
  try {
    await up(o.ready);
    const { url, script } = await o.prepare();
    await redis.config("RESETSTAT");
    const cpu = meter({ server: server.pid, redis: pidOfPort(Number(new URL(env.REDIS_URL!).port || 6379), commands.redis) });
    const run = await wrk(url, script, seconds);
    measured = { run, used: cpu.stop(), stats: await redis.info("commandstats") };
  } finally {
    // SIGTERM: the profiler writes its file on a clean exit; never left running for the next run's port.
    server.kill("SIGTERM");
    await server.exited;
  }
  const { run, used, stats } = measured;
  await redis.flushdb();
  const creates = run.requests - run.non2xx;
  if (!creates) throw new Error(`${o.name}: every create failed (${run.non2xx} non-2xx); run \`bun run bench\` once first (it creates chat_bench on this checkout's MariaDB)`);
  console.log(`== ${o.name}: ${creates} creates in ${seconds} s (${Math.round(run.rps)}/s, ${run.non2xx} non-2xx)`);
  console.log(`CPU per create: server ${perOp(used.server ?? NaN, creates).toFixed(1)} µs + Redis ${perOp(used.redis ?? NaN, creates).toFixed(1)} µs = ${perOp(sum(used), creates).toFixed(1)} µs${profiling ? " (with the profiler running)" : ""}`);
  // Redis: CPU per create of each command (usec is the command's own time, scripts include their calls).
  console.log("Redis INFO commandstats, µs per create:");
  const rows = [...stats.matchAll(/cmdstat_(\S+):calls=(\d+),usec=(\d+)/g)].map(([, name, calls, usec]) => ({ name: name!, calls: Number(calls), perCreate: Number(usec) / creates }));
  for (const r of rows.sort((a, b) => b.perCreate - a.perCreate).slice(0, 12)) console.log(`  ${r.name.padEnd(24)} ${r.perCreate.toFixed(2).padStart(8)} µs   ${(r.calls / creates).toFixed(2)} calls per create`);
  if (!profiling) return { name: o.name, creates, byFunction: [], bySource: new Map() };

  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const data = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  data.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (data.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const where = (n: Node) => {
    const path = n.callFrame.url.replace(/^file:\/\//, "");
    const rel = path.startsWith(root) ? relative(root, path) : path;
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
  console.log(`${o.name} profile: ${(total / 1e6).toFixed(1)} s sampled, ${((idle / total) * 100).toFixed(0)} % idle; µs of self time per create:`);
  const byFunction = group((n) => `${n.callFrame.functionName || "(anonymous)"} ${where(n)}:${n.callFrame.lineNumber + 1}`);
  for (const [name, us] of byFunction.slice(0, 20)) console.log(`  ${(us / creates).toFixed(2).padStart(7)}  ${name}`);
  console.log(`profile: ${relative(root, join(dir, file))}\n`);
  const source = (n: Node) => where(n).split("/").slice(0, where(n).startsWith("@") ? 2 : 1).join("/");
  return { name: o.name, creates, byFunction, bySource: new Map(group(source).map(([name, us]) => [name, us / creates])) };
}

await ensureWrk(console.log);
const redis = new Redis(env.REDIS_URL!);
let token = "";
const ours = await profile(
  {
    name: "ours",
    entry: "server/main.ts",
    port: 3921,
    ready: "http://127.0.0.1:3921/healthz",
    prepare: async () => {
      const API = "http://127.0.0.1:3921/api/v1";
      const post = (path: string, body: unknown) => fetch(`${API}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>);
      ({ token } = await post("/applications", { name: "profile" }));
      for (let i = 0; i < 50; i++) await post(`/applications/${token}/chats`, { name: `chat ${i}` });
      return { url: `${API}/applications/${token}/chats/`, script: join(import.meta.dir, "create-message.lua") };
    },
  },
  redis,
);
// Each floor creates its 50 chats when it starts (in the flushed db); the complete floor serves
// the API's paths, under a token as long as ours.
const complete = await profile(
  {
    name: "complete-floor",
    entry: "bench/complete-floor-server.ts",
    port: 3923,
    ready: "http://127.0.0.1:3923/healthz",
    env: { TOKEN: token },
    prepare: async () => ({ url: `http://127.0.0.1:3923/api/v1/applications/${token}/chats/`, script: join(import.meta.dir, "create-message.lua") }),
  },
  redis,
);
const spec = await profile(
  { name: "spec-floor", entry: "bench/spec-floor-server.ts", port: 3922, ready: "http://127.0.0.1:3922/spec/1", prepare: async () => ({ url: "http://127.0.0.1:3922/spec/", script: join(import.meta.dir, "echo.lua") }) },
  redis,
);
redis.disconnect();
if (profiling) {
  const sides = [ours, complete, spec];
  console.log("self time per create by source (package or file), µs: ours | complete floor | spec floor");
  const names = [...new Set(sides.flatMap((p) => [...p.bySource.keys()]))].sort((a, b) => (ours.bySource.get(b) ?? 0) - (ours.bySource.get(a) ?? 0));
  const cells = (value: (p: Profiled) => number) => sides.map((p) => value(p).toFixed(2).padStart(7)).join(" | ");
  for (const name of names.slice(0, 16)) console.log(`  ${cells((p) => p.bySource.get(name) ?? 0)}  ${name}`);
  console.log(`  ${cells((p) => [...p.bySource.values()].reduce((a, b) => a + b, 0))}  in all (sampled)`);
}
process.exit(0);
