/**
 * `bun run up`: dependencies, services, migrate, then one API and one worker in the foreground with their logs
 * prefixed; Ctrl-C (or SIGTERM) stops both.
 */
import { join } from "node:path";

const root = join(import.meta.dir, "..");

async function step(cmd: string[]) {
  const proc = Bun.spawn(cmd, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) process.exit(1);
}

await step(["bun", "install", "--frozen-lockfile"]);
await step(["bun", "scripts/services.ts"]);
await step(["bun", "scripts/migrate.ts"]);

// A local stack: webhook receivers on this machine (localhost, a LAN address) are allowed (SPEC §5.7).
const env = { ...process.env, WEBHOOK_ALLOW_PRIVATE_URLS: process.env.WEBHOOK_ALLOW_PRIVATE_URLS ?? "true" };

const children = [
  { name: "api", cmd: ["bun", "server/main.ts"] },
  { name: "worker", cmd: ["bun", "worker/main.ts"] },
].map(({ name, cmd }) => {
  const proc = Bun.spawn(cmd, { cwd: root, env, stdout: "pipe", stderr: "pipe" });
  const pipe = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
    let buffered = "";
    for await (const chunk of stream) {
      buffered += new TextDecoder().decode(chunk);
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) out.write(`[${name}] ${line}\n`);
    }
  };
  void pipe(proc.stdout, process.stdout);
  void pipe(proc.stderr, process.stderr);
  return { name, proc };
});

let stopping = false;
function stop(signal: NodeJS.Signals) {
  if (stopping) return;
  stopping = true;
  for (const { proc } of children) proc.kill(signal === "SIGINT" ? "SIGTERM" : signal);
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

// If one process dies, stop the other too: a half-running stack is worse than none.
const first = await Promise.race(children.map(async ({ name, proc }) => ({ name, code: await proc.exited })));
if (!stopping) console.error(`[up] ${first.name} exited with ${first.code}; stopping`);
stop("SIGTERM");
await Promise.all(children.map(({ proc }) => proc.exited));
process.exit(stopping && first.code === 0 ? 0 : first.code || 0);
