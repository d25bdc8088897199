/**
 * Live events of a chat over Server-Sent Events, parsed from fetch's stream (no EventSource needed).
 * After a dropped connection it reconnects with `Last-Event-ID`, so no event is missed or repeated.
 * Aborting the signal ends the iteration cleanly. `onOpen` tells when the stream is live, so that a
 * client can load the current state then and miss nothing in between.
 */
import { ApiError, errorFromResponse } from "./errors.js";
import { url, type Transport } from "./http.js";
import type { Message } from "./types.gen.js";

export type LiveEventType = "message.created" | "message.updated" | "message.deleted";
/** `message` is the message after the change; for a delete, the message as it was. */
export type LiveEvent = { type: LiveEventType; message: Message; id: string };

export type SubscribeOptions = {
  /** Ends the subscription (the iteration then finishes without an error). */
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /**
   * Called each time the stream is open and live, on the first connection and after every reconnect:
   * the server speaks first only once it is subscribed, so every change made after this call is
   * yielded. A client reads the current state (e.g. `list()`) then, and misses nothing in between.
   */
  onOpen?: () => void;
};

const TYPES = new Set<string>(["message.created", "message.updated", "message.deleted"]);

type Frame = { id?: string; event?: string; data: string } | { comment: string };

async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let frame: { id?: string; event?: string; data: string[] } = { data: [] };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
        if (line === "") {
          if (frame.data.length || frame.event) yield { id: frame.id, event: frame.event, data: frame.data.join("\n") };
          frame = { data: [] };
          continue;
        }
        if (line.startsWith(":")) {
          yield { comment: line.slice(1).trim() };
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") frame.id = value;
        else if (field === "event") frame.event = value;
        else if (field === "data") frame.data.push(value);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

export async function* subscribe(transport: Transport, path: string, options: SubscribeOptions = {}): AsyncGenerator<LiveEvent> {
  const { signal } = options;
  let lastId: string | undefined;
  let failures = 0;
  while (!signal?.aborted) {
    try {
      const headers: Record<string, string> = { accept: "text/event-stream", ...transport.headers, ...options.headers };
      if (lastId) headers["last-event-id"] = lastId;
      const response = await transport.fetch(url(transport, path), { headers, signal });
      if (!response.ok || !response.body) throw errorFromResponse(response.status, response.headers, await response.text());
      failures = 0;
      let open = false;
      for await (const frame of frames(response.body)) {
        if (!open) {
          open = true;
          options.onOpen?.();
        }
        if ("comment" in frame || !frame.event || !TYPES.has(frame.event)) continue;
        const payload = JSON.parse(frame.data) as { type: LiveEventType; message: Message };
        if (frame.id) lastId = frame.id;
        yield { type: payload.type, message: payload.message, id: frame.id ?? "" };
      }
    } catch (error) {
      if (signal?.aborted) return;
      // A missing chat or a bad request will not get better by retrying.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) throw error;
    }
    const delay = Math.min(10_000, 250 * 2 ** failures++);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delay);
      signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
    });
  }
}
