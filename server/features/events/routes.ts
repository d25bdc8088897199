/**
 * Live events of a chat's messages (created, updated, deleted) from every API process:
 * - GET …/events: Server-Sent Events; `Last-Event-ID` resumes; keep-alive comments hold idle
 *   streams open past Bun's idle timeout.
 * - GET …/ws: a WebSocket carrying the same JSON, `{ id, type, message }` per frame;
 *   `?last_event_id=` resumes.
 */
import { Elysia, t } from "elysia";
import type { Deps } from "../../deps.ts";
import { errors } from "../../common/models.ts";
import { numberParam, tokenParam } from "../../common/params.ts";
import { ChatParams } from "../chats/model.ts";
import type { Services } from "../../services.ts";
import { rateLimit } from "../../common/ratelimit.ts";
import type { Fanout } from "./fanout.ts";
import { STREAM_ID, subscribe } from "./subscription.ts";

export function eventRoutes(deps: Deps, { guard }: Services, fanout: Fanout) {
  const { config } = deps;
  const target = async (params: { token: string; chat: string }, resume: string | null | undefined) => {
    const token = tokenParam(params.token);
    const chat = numberParam(params.chat, "chat");
    await guard.liveChat(token, chat);
    const resumeFrom = resume && STREAM_ID.test(resume.trim()) ? resume.trim() : undefined;
    return { token, chat, resumeFrom };
  };

  return new Elysia()
    .onBeforeHandle(rateLimit(deps))
    .get(
      "/applications/:token/chats/:chat/events",
      async ({ params, request }) => {
        const chat = await target(params, request.headers.get("last-event-id"));
        const encoder = new TextEncoder();
        let cleanup = () => {};
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            let open = true;
            const write = (text: string) => {
              if (!open) return;
              try {
                controller.enqueue(encoder.encode(text));
              } catch {
                cleanup();
              }
            };
            const unsubscribe = await subscribe(deps, fanout, chat, (e) =>
              write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ type: e.type, message: e.message })}\n\n`),
            );
            // Only now is every later event of the chat delivered: a client may take this as "live".
            write("retry: 1000\n: connected\n\n");
            const keepAlive = setInterval(() => write(": keep-alive\n\n"), config.sseKeepAliveMs);
            cleanup = () => {
              if (!open) return;
              open = false;
              clearInterval(keepAlive);
              unsubscribe();
              try {
                controller.close();
              } catch {}
            };
            request.signal.addEventListener("abort", cleanup);
          },
          cancel: () => cleanup(),
        });
        return new Response(body, {
          headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
        });
      },
      {
        params: ChatParams,
        headers: t.Object({ "last-event-id": t.Optional(t.String({ description: "resume after this event id" })) }),
        response: { 200: t.String({ description: "text/event-stream" }), ...errors(400, 404, 429, 503) },
        detail: {
          tags: ["events"],
          operationId: "events.stream",
          summary: "Live events of a chat (Server-Sent Events)",
          description:
            "Each event: `id:` (resumable with Last-Event-ID), `event:` message.created | message.updated | message.deleted, `data:` {\"type\", \"message\"} (a deleted message as it was). Comment lines keep idle streams open. The same events are served as WebSocket frames at …/ws.",
        },
      },
    )
    .ws("/applications/:token/chats/:chat/ws", {
      query: t.Object({ last_event_id: t.Optional(t.String()) }),
      // Checked before the upgrade, so an unknown chat is a plain 404.
      beforeHandle: async ({ params, query }) => {
        await target(params, query.last_event_id);
      },
      async open(ws) {
        const chat = await target(ws.data.params, ws.data.query.last_event_id);
        const unsubscribe = await subscribe(deps, fanout, chat, (e) => ws.send(JSON.stringify(e)));
        (ws.data as { unsubscribe?: () => void }).unsubscribe = unsubscribe;
      },
      close(ws) {
        (ws.data as { unsubscribe?: () => void }).unsubscribe?.();
      },
      message() {
        // The socket is one-way: the server sends, clients only listen.
      },
    });
}
