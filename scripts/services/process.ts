/** What scripts/services.ts and its parts share: probing ports, running commands, daemons and their pid files. */
import { existsSync, readFileSync } from "node:fs";
import { connect } from "node:net";

export const log = (msg: string) => console.log(`[services] ${msg}`);

export function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, logFile?: string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await Bun.sleep(200);
  }
  const tail = logFile && existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-20).join("\n") : "";
  throw new Error(`${what} did not answer within ${timeoutMs / 1000}s${tail ? `; last log lines:\n${tail}` : ""}`);
}

export async function run(cmd: string[], options: { env?: Record<string, string>; quiet?: boolean } = {}) {
  const proc = Bun.spawn(cmd, { stdout: options.quiet ? "pipe" : "inherit", stderr: "pipe", env: { ...process.env, ...options.env } });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}: ${await new Response(proc.stderr).text()}`);
  return options.quiet ? await new Response(proc.stdout as ReadableStream).text() : "";
}

export const which = (bin: string) => Bun.which(bin, { PATH: `${process.env.PATH}:/usr/sbin:/sbin` });

/** Starts a daemon in its own session, so Ctrl-C in the terminal that ran us does not reach it. */
export function daemon(cmd: string[], logFile: string) {
  Bun.spawn(["setsid", "-f", ...cmd], { stdout: Bun.file(logFile), stderr: Bun.file(logFile), stdin: "ignore" });
}

/** SIGTERM to the pid in `pidFile`, SIGKILL after 30 s; resolves once it is gone. */
export async function stopPidFile(name: string, pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      log(`${name} stopped`);
      return;
    }
    await Bun.sleep(200);
  }
  process.kill(pid, "SIGKILL");
  log(`${name} killed`);
}
