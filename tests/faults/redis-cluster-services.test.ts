/**
 * `bun run services cluster` (scripts/redis-cluster.ts): the local Redis Cluster on 127.0.0.1:7000–7005.
 * Started as a subprocess, checked through redis-cli: 3 masters each with a replica and all 16384
 * slots; a second start is a no-op; a replica SIGKILLed (by its pid file) is brought back by the
 * next start with the data; stop keeps the data and the next start restarts the nodes with it; a
 * partial folder is rebuilt. The cluster is stopped at the end.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "../support/http.ts";
import { alive } from "../../scripts/redis-cluster.ts";

const root = join(import.meta.dir, "../..");
const ports = [7000, 7001, 7002, 7003, 7004, 7005];
const nodeDir = (port: number) => join(root, ".services/redis-cluster", String(port));
const pidOf = (port: number) => Number(readFileSync(join(nodeDir(port), "redis.pid"), "utf8").trim());
const key = `services-cluster-${Date.now()}`;

async function run(cmd: string[], timeoutMs: number, stdin?: string): Promise<{ code: number; out: string; ms: number }> {
  const started = Date.now();
  const proc = Bun.spawn(cmd, { cwd: root, stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (proc.signalCode === "SIGKILL") throw new Error(`${cmd.join(" ")} did not finish within ${timeoutMs / 1000}s: ${out}${err}`);
  return { code, out: `${out}${err}`, ms: Date.now() - started };
}

/** `bun scripts/services.ts cluster [stop]`; fails the test with its output when it fails. */
async function services(...args: string[]) {
  const result = await run(["bun", "scripts/services.ts", "cluster", ...args], 150_000);
  if (result.code !== 0) throw new Error(`services cluster ${args.join(" ")} exited with ${result.code}:\n${result.out}`);
  return result;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const result = await run(["redis-cli", "-p", String(port), ...args], 10_000);
  if (result.code !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")} exited with ${result.code}: ${result.out}`);
  return result.out.trim();
}

function fields(text: string): Record<string, string> {
  return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(":")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]));
}

type Node = { id: string; port: number; flags: string[]; master: string; link: string; slots: string[] };
async function clusterNodes(port: number): Promise<Node[]> {
  return (await cli(port, "cluster", "nodes")).split("\n").map((line) => {
    const [id, addr, flags, master, , , , link, ...slots] = line.trim().split(" ");
    return { id: id!, port: Number(/:(\d+)@/.exec(addr!)?.[1]), flags: flags!.split(","), master: master!, link: link!, slots };
  });
}


async function answers(port: number): Promise<boolean> {
  return (await run(["redis-cli", "-p", String(port), "ping"], 5_000).catch(() => ({ out: "" }))).out.trim() === "PONG";
}

/** Asserts what `bun run services cluster` promises when it returns: a healthy cluster seen from every node. */
async function expectHealthy() {
  for (const port of ports) {
    const info = fields(await cli(port, "cluster", "info"));
    expect({ port, state: info.cluster_state, slots: info.cluster_slots_assigned, ok: info.cluster_slots_ok, size: info.cluster_size, known: info.cluster_known_nodes })
      .toEqual({ port, state: "ok", slots: "16384", ok: "16384", size: "3", known: "6" });
  }
  const nodes = await clusterNodes(7000);
  const masters = nodes.filter((n) => n.flags.includes("master"));
  expect(masters).toHaveLength(3);
  expect(nodes.filter((n) => n.flags.some((f) => f.startsWith("fail")))).toEqual([]);
  for (const master of masters) {
    expect(master.slots.length).toBeGreaterThan(0);
    const replicas = nodes.filter((n) => n.flags.includes("slave") && n.master === master.id && n.link === "connected");
    expect(replicas.length).toBeGreaterThanOrEqual(1);
    expect(fields(await cli(master.port, "info", "replication")).slave0).toContain("state=online");
    for (const r of replicas) expect(fields(await cli(r.port, "info", "replication")).master_link_status).toBe("up");
  }
}

afterAll(async () => {
  await services("stop");
}, 60_000);

describe("bun run services cluster", () => {
  test("starts 3 masters with a replica each, all 16384 slots assigned", async () => {
    const { out, ms } = await services();
    console.log(`[cluster test] start: ${ms} ms — ${out.trim().split("\n").pop()}`);
    await expectHealthy();
  }, 160_000);

  test("a second start says already running and returns in well under a second", async () => {
    const { out, ms } = await services();
    console.log(`[cluster test] warm no-op: ${ms} ms`);
    expect(out).toContain("already running");
    expect(ms).toBeLessThan(1000);
  }, 30_000);

  test("a replica SIGKILLed by its pid file is brought back by the next start, with the data", async () => {
    expect(await cli(7000, "-c", "set", key, "kept")).toBe("OK");
    expect(await cli(7003, "-c", "get", key)).toBe("kept");

    // The replica of the master that holds the key.
    const slot = Number(await cli(7000, "cluster", "keyslot", key));
    const nodes = await clusterNodes(7000);
    const owner = nodes.find((n) => n.flags.includes("master") && n.slots.some((r) => {
      const [a, b] = r.split("-").map(Number);
      return slot >= a! && slot <= (b ?? a)!;
    }))!;
    const replica = nodes.find((n) => n.flags.includes("slave") && n.master === owner.id)!;
    expect(replica).toBeDefined();
    const onReplica = async () => (await run(["redis-cli", "-p", String(replica.port)], 10_000, `READONLY\nGET ${key}\n`)).out.trim().split("\n");
    await eventually(async () => ((await onReplica())[1] === "kept" ? true : undefined), 10_000, `the key replicated to ${replica.port}`);

    const pid = pidOf(replica.port);
    process.kill(pid, "SIGKILL");
    await eventually(async () => (!alive(pid) && !(await answers(replica.port)) ? true : undefined), 10_000, `replica ${replica.port} (pid ${pid}) gone after SIGKILL`);

    const { out, ms } = await services();
    console.log(`[cluster test] start after a replica's SIGKILL: ${ms} ms`);
    expect(out).not.toContain("already running");
    expect(out).toContain(`starting ${replica.port},`);
    const newPid = pidOf(replica.port);
    expect(newPid).not.toBe(pid);
    expect(alive(newPid)).toBe(true);
    expect((await cli(replica.port, "role")).split("\n")[0]).toBe("slave");
    await expectHealthy();
    // Read from the replica itself (READONLY on the same connection), and through the cluster.
    expect(await onReplica()).toEqual(["OK", "kept"]);
    expect(await cli(replica.port, "-c", "get", key)).toBe("kept");
  }, 160_000);

  test("stop stops all six and keeps their data; the next start restarts them with it", async () => {
    const pids = ports.map(pidOf);
    const { out: stopped, ms: stopMs } = await services("stop");
    console.log(`[cluster test] stop: ${stopMs} ms`);
    expect(stopped).toContain("stopped");
    for (const [i, port] of ports.entries()) {
      expect(alive(pids[i]!)).toBe(false);
      expect(await answers(port)).toBe(false);
      expect(existsSync(join(nodeDir(port), "nodes.conf"))).toBe(true);
    }
    expect((await services("stop")).out).toContain("not running");

    const { out, ms } = await services();
    console.log(`[cluster test] restart: ${ms} ms`);
    expect(out).toContain("restarted");
    await expectHealthy();
    expect(await cli(7003, "-c", "get", key)).toBe("kept");
  }, 160_000);

  test("a partial cluster folder is reported and rebuilt from scratch", async () => {
    await services("stop");
    rmSync(join(nodeDir(7004), "nodes.conf"));
    const { out, ms } = await services();
    console.log(`[cluster test] rebuild: ${ms} ms`);
    expect(out).toContain("partial");
    expect(out).toContain("rebuilding from scratch");
    expect(out).toContain("created");
    await expectHealthy();
    expect(await cli(7000, "-c", "get", key)).toBe("");
  }, 160_000);
});
