/**
 * HTTP/1.1 over a bare socket, for requests `fetch` will not send as written: it normalizes `..` and
 * `%2e%2e` out of paths, re-encodes targets and refuses some header bytes. Request-target and
 * header bytes go out exactly as given (header text as latin1, one byte per character).
 */
import { connect } from "node:net";

export type RawRequest = {
  method: string;
  /** The request-target, already encoded as it should appear on the wire. */
  target: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
};

export type RawResponse = { status: number; headers: Map<string, string>; text: string };

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString("latin1"), 16);
    if (!size) break;
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/**
 * Sends one request with `connection: close` and reads the whole answer. An event stream that starts
 * is not read to its end: its status and headers are returned as soon as they arrive.
 */
export function rawRequest(port: number, request: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const body = request.body === undefined ? undefined : typeof request.body === "string" ? Buffer.from(request.body, "utf8") : Buffer.from(request.body);
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `host: 127.0.0.1:${port}`, "connection: close"];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body) lines.push(`content-length: ${body.byteLength}`);
  const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");

  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      if (split < 0) return reject(new Error(`no HTTP response to ${request.method} ${request.target.slice(0, 200)}: ${JSON.stringify(all.toString("latin1").slice(0, 200))}`));
      const [statusLine, ...headerLines] = all.subarray(0, split).toString("latin1").split("\r\n");
      const headers = new Map<string, string>();
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, headers.has(name) ? `${headers.get(name)}, ${line.slice(colon + 1).trim()}` : line.slice(colon + 1).trim());
      }
      let payload: Buffer = all.subarray(split + 4);
      if (headers.get("transfer-encoding")?.includes("chunked")) payload = dechunk(payload);
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, text: payload.toString("utf8") });
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms to ${request.method} ${request.target.slice(0, 200)}`)), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      if (split >= 0 && /\r\ncontent-type:\s*text\/event-stream/i.test(all.subarray(0, split).toString("latin1"))) finish();
    });
    socket.on("end", () => finish());
    socket.on("close", () => finish());
    // A server may answer (413) and close before reading the whole body: then the write fails, the answer stands.
    socket.on("error", (error) => (chunks.length ? finish() : finish(error)));
    socket.write(body ? Buffer.concat([head, body]) : head);
  });
}
