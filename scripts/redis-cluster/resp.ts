/** A minimal RESP2 client: one connection per call, commands pipelined, replies parsed. */
import { connect } from "node:net";
import { CLUSTER_HOST } from "./layout.ts";

export type Reply = string | number | null | ReplyError | Reply[];
export class ReplyError extends Error {}

function parseReply(buf: Buffer, pos: number): [Reply, number] | undefined {
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[pos]!);
  const line = buf.toString("utf8", pos + 1, eol);
  const next = eol + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new ReplyError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const len = Number(line);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString("utf8", next, next + len), next + len + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: Reply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        items.push(item[0]);
        at = item[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`not a Redis reply (starts with ${JSON.stringify(type)})`);
  }
}

/** Sends the commands on one connection; resolves with one reply per command (errors as ReplyError). */
export function redisCommands(port: number, commands: string[][], timeoutMs = 1000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: CLUSTER_HOST, port });
    let buf = Buffer.alloc(0);
    const replies: Reply[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve(replies);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`${CLUSTER_HOST}:${port} did not reply within ${timeoutMs} ms`)));
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error(`${CLUSTER_HOST}:${port} closed the connection`)));
    socket.once("connect", () => {
      socket.write(commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`).join(""));
    });
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        let pos = 0;
        for (;;) {
          const parsed = parseReply(buf, pos);
          if (!parsed) break;
          replies.push(parsed[0]);
          pos = parsed[1];
          if (replies.length === commands.length) return finish();
        }
        buf = buf.subarray(pos);
      } catch (error) {
        finish(error as Error);
      }
    });
  });
}

/** "a:1\r\nb:2" (CLUSTER INFO, INFO) → { a: "1", b: "2" }. */
export function fields(text: Reply): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof text !== "string") return out;
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#")) out[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return out;
}
