/** Where the local Redis Cluster lives and how long its steps may take (see ../redis-cluster.ts). */
import { join, relative } from "node:path";

export const CLUSTER_HOST = "127.0.0.1";
export const CLUSTER_PORTS: readonly number[] = [7000, 7001, 7002, 7003, 7004, 7005];
export const SLOTS = 16384;
export const MASTERS = 3;

export const root = join(import.meta.dir, "../..");
export const clusterDir = join(root, ".services", "redis-cluster");
export const lockFile = join(root, ".services", "redis-cluster.lock");
export const nodeDir = (port: number) => join(clusterDir, String(port));
export const pidFileOf = (port: number) => join(nodeDir(port), "redis.pid");
export const logFileOf = (port: number) => join(nodeDir(port), "redis.log");
export const nodesConfOf = (port: number) => join(nodeDir(port), "nodes.conf");
export const show = (path: string) => relative(process.cwd(), path) || path;
export const range = `${CLUSTER_HOST}:${CLUSTER_PORTS[0]}–${CLUSTER_PORTS[CLUSTER_PORTS.length - 1]}`;

/** Deadlines (ms). */
export const NODE_UP_MS = 20_000; // a started node answers PING
export const RESTART_OK_MS = 30_000; // restarted nodes are a healthy cluster again, else rebuild
export const CREATE_OK_MS = 60_000; // a created cluster is healthy (replicas synced)
export const CREATE_CMD_MS = 60_000; // redis-cli --cluster create returns
export const STOP_TERM_MS = 20_000; // SIGTERM → gone, then SIGKILL
export const LOCK_MS = 180_000; // another `services cluster` run finishes
export const POLL_MS = 50;

export type ClusterOptions = {
  log: (msg: string) => void;
  /** Finds a binary (also in /usr/sbin). */
  which: (bin: string) => string | null | undefined;
  /** Installs Debian packages (services.ts' aptInstall). */
  install: (packages: string[]) => Promise<void>;
};
