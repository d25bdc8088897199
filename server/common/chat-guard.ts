/**
 * The one check that a chat exists (and is not deleted) before anything reads or listens to it,
 * shared by messages, search and live events: Redis first, MySQL (and a re-seed) when Redis lost the
 * application or the chat.
 */
import type { ChainableCommander } from "ioredis";
import { execAll } from "../../core/redis/client.ts";
import type { Deps } from "../deps.ts";
import { notFound } from "../errors.ts";
import type { RedisState } from "./redis-state.ts";

export function chatGuard({ redis, keys }: Deps, state: RedisState) {
  /**
   * The slow path, when Redis lost the application or the chat: re-seeds from MySQL, then checks.
   * `known` is the application id just read from Redis, when it was there (no need to read it again).
   */
  async function reseeded(token: string, chat: number, known: string | null): Promise<number> {
    const appId = known === null ? await state.appId(token) : Number(known);
    let deleted = known === null ? await redis.hget(keys.chat(token, chat), "deleted") : null;
    if (deleted === null) {
      await state.seedChat(token, appId, chat);
      deleted = await redis.hget(keys.chat(token, chat), "deleted");
    }
    if (deleted !== "0") throw notFound("chat");
    return appId;
  }

  /**
   * The chat check plus one more read of the chat's keys in one round trip (they share a hash tag);
   * falls back to the re-seeding path when Redis lost the application or the chat (re-seeding
   * restores counters, never pending entries, so the value read is still the one to use).
   */
  async function withChat<T>(token: string, chat: number, read: (p: ChainableCommander) => ChainableCommander): Promise<{ appId: number; value: T }> {
    const [id, deleted, value] = (await execAll(read(redis.pipeline().hget(keys.app(token), "id").hget(keys.chat(token, chat), "deleted")))) as [string | null, string | null, T];
    if (id === null || deleted === null) return { appId: await reseeded(token, chat, id), value };
    if (deleted !== "0") throw notFound("chat");
    return { appId: Number(id), value };
  }

  /** The application id of a live chat; 404 otherwise. One Redis round trip when Redis knows both. */
  async function liveChat(token: string, chat: number): Promise<number> {
    return (await withChat(token, chat, (p) => p)).appId;
  }

  return { liveChat, withChat };
}

export type ChatGuard = ReturnType<typeof chatGuard>;
