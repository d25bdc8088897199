/**
 * Runs the real Elasticsearch 8.19 server on this machine without Docker: jars from Maven Central
 * (built into target/ by pom.xml), one JVM started by launcher/Launcher.java, data and logs under
 * .services/elasticsearch/. `bun scripts/elasticsearch/node.ts start|stop` for manual use.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = import.meta.dir;
const root = join(here, "../..");
const home = join(root, ".services/elasticsearch");
const pidFile = join(home, "es.pid");
const logFile = join(home, "es.log");
const target = join(here, "target");
const stampFile = join(target, "build.stamp");

type Log = (msg: string) => void;

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_cluster/health`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return false;
    const { status } = (await res.json()) as { status: string };
    return status === "green" || status === "yellow";
  } catch {
    return false;
  }
}

/** A hash of everything the build reads: rebuild only when it changed. */
function sourceStamp(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  hash.update(readFileSync(join(here, "pom.xml")));
  walk(join(here, "src"));
  return hash.digest("hex");
}

async function build(log: Log) {
  const stamp = sourceStamp();
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && existsSync(join(target, "server"))) return;
  if (!Bun.which("mvn")) throw new Error("Maven (mvn) is needed to fetch Elasticsearch from Maven Central: apt-get install maven");
  log("building the launcher and fetching Elasticsearch from Maven Central");
  rmSync(target, { recursive: true, force: true });
  const proc = Bun.spawn(["mvn", "-q", "-B", "package"], { cwd: here, stdout: "pipe", stderr: "pipe" });
  if ((await proc.exited) !== 0) {
    throw new Error(`mvn package failed:\n${await new Response(proc.stdout).text()}${await new Response(proc.stderr).text()}`);
  }
  writeFileSync(stampFile, stamp);
}

function running(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export async function ensureElasticsearch(opts: { url?: string; log?: Log } = {}): Promise<"already running" | "started"> {
  const url = (opts.url ?? process.env.ELASTICSEARCH_URL ?? "http://127.0.0.1:9200").replace(/\/$/, "");
  const log = opts.log ?? ((msg: string) => console.log(`[elasticsearch] ${msg}`));
  if (await healthy(url)) return "already running";
  if (!Bun.which("java")) throw new Error("Java 17+ is needed to run Elasticsearch: apt-get install openjdk-17-jre-headless");

  if (!running()) {
    await build(log);
    mkdirSync(home, { recursive: true });
    const port = new URL(url).port || "9200";
    const out = openSync(logFile, "a");
    // detached: its own session, so a Ctrl-C in the terminal that ran `bun run up` does not reach it.
    const child = spawn(
      "java",
      [
        "-Xms512m", "-Xmx1g", "-XX:+UseG1GC", "-Dfile.encoding=UTF-8", "-Dlog4j2.disable.jmx=true",
        "-p", join(target, "server"), "--add-modules", "ALL-MODULE-PATH",
        join(here, "launcher/Launcher.java"), home, join(target, "modules"), port, join(here, "chat-analysis.properties"),
      ],
      { cwd: here, detached: true, stdio: ["ignore", out, out] },
    );
    closeSync(out);
    child.unref();
    writeFileSync(pidFile, String(child.pid));
    log(`starting (pid ${child.pid}, log ${logFile})`);
  }

  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (await healthy(url)) return "started";
    if (!running()) break;
    await Bun.sleep(250);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n") : "";
  throw new Error(`Elasticsearch did not become healthy at ${url}; last log lines:\n${tail}`);
}

export async function stopElasticsearch(): Promise<boolean> {
  const pid = running();
  if (!pid) return false;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && running()) await Bun.sleep(200);
  if (running()) process.kill(pid, "SIGKILL");
  rmSync(pidFile, { force: true });
  return true;
}

if (import.meta.main) {
  const command = process.argv[2] ?? "start";
  const result = command === "stop" ? await stopElasticsearch() : await ensureElasticsearch();
  console.log(`[elasticsearch] ${command}: ${result}`);
}
