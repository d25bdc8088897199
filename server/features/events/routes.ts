/**
 * GET …/chats/:chat/events: Server-Sent Events of the chat's messages (created, updated, deleted),
 * from every API process. `Last-Event-ID` replays what the client missed from the chat's short event
 * log before going live; keep-alive comments hold idle streams open past Bun's idle timeout.
 */
import { Elysia, t } from "elysia";
import { compareStreamIds } from "../../../core/events.ts";
import type { Deps } from "../../deps.ts";
import { errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { ChatParams } from "../chats/model.ts";
import { messageService, toMessage } from "../messages/service.ts";
import type { Fanout, LiveEvent } from "./fanout.ts";

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

function frame(event: LiveEvent): string {
  const message = toMessage(event.message as Parameters<typeof toMessage>[0]);
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ type: event.type, message })}\n\n`;
}

export function eventRoutes(deps: Deps, fanout: Fanout) {
  const messages = messageService(deps);
  const { redis, keys, config } = deps;

  return new Elysia().get(
    "/applications/:token/chats/:chat/events",
    async ({ params, request }) => {
      const token = tokenParam(params.token);
      const chat = numberParam(params.chat, "chat");
      await messages.liveChat(token, chat);
      const header = request.headers.get("last-event-id")?.trim();
      const resumeFrom = header && STREAM_ID.test(header) ? header : undefined;
      const encoder = new TextEncoder();
      let cleanup = () => {};

      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          let open = true;
          let last = resumeFrom ?? "0-0";
          let replaying = true;
          const held: LiveEvent[] = [];
          const write = (text: string) => {
            if (!open) return;
            try {
              controller.enqueue(encoder.encode(text));
            } catch {
              cleanup();
            }
          };
          const send = (event: LiveEvent) => {
            if (compareStreamIds(event.id, last) <= 0) return;
            last = event.id;
            write(frame(event));
          };
          const unlisten = await fanout.listen(keys.channel(token, chat), (event) => (replaying ? held.push(event) : send(event)));
          const keepAlive = setInterval(() => write(": keep-alive\n\n"), config.sseKeepAliveMs);
          cleanup = () => {
            if (!open) return;
            open = false;
            clearInterval(keepAlive);
            unlisten();
            try {
              controller.close();
            } catch {}
          };
          request.signal.addEventListener("abort", cleanup);
          write("retry: 1000\n: connected\n\n");
          if (resumeFrom) {
            // Live events are held while the log is replayed, then sent if newer: no gap, no repeat.
            const missed = (await redis.xrange(keys.eventLog(token, chat), `(${resumeFrom}`, "+")) as [string, string[]][];
            for (const [id, fields] of missed) {
              const type = fields[fields.indexOf("e") + 1]!;
              const json = fields[fields.indexOf("m") + 1]!;
              send({ id, type, message: JSON.parse(json) });
            }
          }
          replaying = false;
          for (const event of held) send(event);
        },
        cancel() {
          cleanup();
        },
      });

      return new Response(body, {
        headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
      });
    },
    {
      params: ChatParams,
      headers: t.Object({ "last-event-id": t.Optional(t.String({ description: "resume after this event id" })) }),
      response: { 200: t.String({ description: "text/event-stream" }), ...errors(404, 429, 503) },
      detail: {
        tags: ["events"],
        summary: "Live events of a chat (Server-Sent Events)",
        description:
          "Each event: `id:` (resumable with Last-Event-ID), `event:` message.created | message.updated | message.deleted, `data:` {\"type\", \"message\"} (a deleted message as it was). Comment lines keep idle streams open.",
      },
    },
  );
}
