/** Health: what is wrong with the cluster, seen from every node. An empty list means healthy. */
import { CLUSTER_HOST, CLUSTER_PORTS, MASTERS, SLOTS } from "./layout.ts";
import { fields, redisCommands, ReplyError, type Reply } from "./resp.ts";


type ClusterNode = { id: string; port: number; flags: string[]; master: string; link: string; slots: number };

function parseNodes(text: string): ClusterNode[] {
  return text
    .split("\n")
    .filter((l) => l.trim())
    .map((line) => {
      const [id, addr, flags, master, , , , link, ...slotRanges] = line.trim().split(" ");
      const slots = slotRanges
        .filter((r) => !r.startsWith("["))
        .reduce((n, r) => {
          const [a, b] = r.split("-").map(Number);
          return n + (b === undefined ? 1 : b - a! + 1);
        }, 0);
      return { id: id!, port: Number(/:(\d+)/.exec(addr ?? "")?.[1]), flags: (flags ?? "").split(","), master: master ?? "-", link: link ?? "", slots };
    });
}

export type NodeState = { port: number; answers: boolean; loading: boolean; knownNodes: number; problems: string[] };

async function nodeState(port: number): Promise<NodeState> {
  const where = `${CLUSTER_HOST}:${port}`;
  const state: NodeState = { port, answers: false, loading: false, knownNodes: 0, problems: [] };
  let replies: Reply[];
  try {
    replies = await redisCommands(port, [["CLUSTER", "INFO"], ["CLUSTER", "NODES"], ["INFO", "replication"]]);
  } catch (error) {
    state.problems.push(`${where} does not answer (${(error as Error).message})`);
    return state;
  }
  state.answers = true;
  const failed = replies.find((r): r is ReplyError => r instanceof ReplyError);
  if (failed) {
    state.loading = failed.message.startsWith("LOADING");
    state.problems.push(`${where}: ${failed.message}`);
    return state;
  }
  const info = fields(replies[0]!);
  state.knownNodes = Number(info.cluster_known_nodes ?? 0);
  if (info.cluster_state !== "ok") state.problems.push(`${where}: cluster_state:${info.cluster_state}`);
  if (Number(info.cluster_slots_assigned) !== SLOTS) state.problems.push(`${where}: ${info.cluster_slots_assigned} of ${SLOTS} slots assigned`);
  if (Number(info.cluster_slots_ok) !== SLOTS) state.problems.push(`${where}: ${info.cluster_slots_ok} of ${SLOTS} slots ok`);
  if (state.knownNodes !== CLUSTER_PORTS.length) state.problems.push(`${where}: knows ${state.knownNodes} nodes, not ${CLUSTER_PORTS.length}`);

  const nodes = parseNodes(String(replies[1]));
  for (const n of nodes) {
    const bad = n.flags.filter((f) => ["fail", "fail?", "handshake", "noaddr"].includes(f));
    if (bad.length) state.problems.push(`${where}: sees ${CLUSTER_HOST}:${n.port} as ${bad.join(",")}`);
    else if (n.link !== "connected") state.problems.push(`${where}: its link to ${CLUSTER_HOST}:${n.port} is ${n.link}`);
  }
  const masters = nodes.filter((n) => n.flags.includes("master") && n.slots > 0);
  if (masters.length !== MASTERS) state.problems.push(`${where}: sees ${masters.length} masters with slots, not ${MASTERS}`);
  for (const m of masters) {
    const replicas = nodes.filter((n) => n.flags.includes("slave") && n.master === m.id && n.link === "connected" && !n.flags.some((f) => f.startsWith("fail")));
    if (!replicas.length) state.problems.push(`${where}: master ${CLUSTER_HOST}:${m.port} has no connected replica`);
  }

  const repl = fields(replies[2]!);
  if (repl.role === "master" && masters.some((m) => m.flags.includes("myself"))) {
    const online = Object.entries(repl).filter(([k, v]) => /^slave\d+$/.test(k) && v.includes("state=online"));
    if (!online.length) state.problems.push(`${where}: master without an online replica (connected_slaves:${repl.connected_slaves})`);
  } else if (repl.role === "slave") {
    if (repl.master_link_status !== "up") state.problems.push(`${where}: replica's master_link_status:${repl.master_link_status}`);
  } else {
    state.problems.push(`${where}: role ${repl.role} without slots`);
  }
  return state;
}

export const clusterState = () => Promise.all(CLUSTER_PORTS.map(nodeState));
export const problemsOf = (states: NodeState[]) => states.flatMap((s) => s.problems);

/** True when the cluster is healthy as seen from every node. */
export async function clusterHealthy(): Promise<boolean> {
  return problemsOf(await clusterState()).length === 0;
}
