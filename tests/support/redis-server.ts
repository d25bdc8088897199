/**
 * A Redis server of a test's own (AOF everysec, as `bun run services` runs it), on a free port with
 * a data folder of its own, so a test can kill and restart it without disturbing anything else.
 */
import type { Subprocess } from "bun";
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";

export type OwnRedis = {
  url: string;
  port: number;
  /** Starts it (again) on the same port and data folder; resolves when it answers PING. */
  start(): Promise<void>;
  kill(): Promise<void>;
  /** The file the AOF is appended to now, and its size. */
  aofTail(): { file: string; size: number };
  remove(): void;
};

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}

export async function ownRedis(extra: string[] = []): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "chat-redis-"));
  let proc: Subprocess | undefined;
  const url = `redis://127.0.0.1:${port}/0`;
  const self: OwnRedis = {
    url,
    port,
    async start() {
      proc = Bun.spawn(
        ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--maxmemory-policy", "noeviction", ...extra],
        { stdout: "ignore", stderr: "ignore" },
      );
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on("error", () => {});
      const deadline = Date.now() + 20_000;
      try {
        while (Date.now() < deadline) {
          if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${proc.exitCode}`);
          try {
            if (client.status !== "ready") await client.connect();
            if ((await client.ping()) === "PONG") return;
          } catch {
            client.disconnect();
          }
          await Bun.sleep(50);
        }
      } finally {
        client.disconnect();
      }
      throw new Error(`redis-server on ${port} did not answer within 20 s`);
    },
    async kill() {
      proc?.kill("SIGKILL");
      await proc?.exited;
    },
    aofTail() {
      const aofDir = join(dir, "appendonlydir");
      const incr = readdirSync(aofDir).filter((f) => f.includes(".incr.aof")).sort((a, b) => Number(/\.(\d+)\.incr/.exec(a)?.[1]) - Number(/\.(\d+)\.incr/.exec(b)?.[1]));
      const file = join(aofDir, incr[incr.length - 1]!);
      return { file, size: statSync(file).size };
    },
    remove() {
      proc?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await self.start();
  return self;
}

/** Cuts the AOF back to an earlier size: what a host crash does to the writes of its last second. */
export function truncateAof(file: string, size: number): void {
  truncateSync(file, size);
}
