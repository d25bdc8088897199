/** Stops and restarts one of the services that `bun run services` started, for outage tests. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
const pidFiles = { mariadb: ".services/mariadb/mariadb.pid", elasticsearch: ".services/elasticsearch/es.pid" } as const;

export function managed(service: keyof typeof pidFiles): boolean {
  return existsSync(join(root, pidFiles[service]));
}

export async function stopService(service: keyof typeof pidFiles): Promise<void> {
  const pid = Number(readFileSync(join(root, pidFiles[service]), "utf8").trim());
  process.kill(pid, "SIGKILL");
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await Bun.sleep(100);
  }
  throw new Error(`${service} did not stop`);
}

export async function startServices(): Promise<void> {
  const proc = Bun.spawn(["bun", "scripts/services.ts"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if ((await proc.exited) !== 0) throw new Error(`services failed: ${await new Response(proc.stderr).text()}`);
}
