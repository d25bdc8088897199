/**
 * Loads scripts/*.lua once per connection with ioredis `defineCommand` (EVALSHA, falling back to
 * EVAL when the script cache was flushed). `-- @include file.lua` lines are inlined; the number of
 * keys is read from the `-- KEYS[n]` header lines, so the header and the call can never disagree.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type Redis from "ioredis";

const dir = join(import.meta.dir, "scripts");

export function loadLua(name: string): { lua: string; numberOfKeys: number } {
  const source = readFileSync(join(dir, `${name}.lua`), "utf8");
  const lua = source.replace(/^-- @include (\S+)$/gm, (_line, file: string) => readFileSync(join(dir, file), "utf8"));
  const numberOfKeys = new Set(source.match(/^-- KEYS\[\d+\]/gm) ?? []).size;
  return { lua, numberOfKeys };
}

const names = ["create_chat", "create_message", "mutate", "seed_app", "seed_chat", "release_pending", "rate_limit"] as const;
type ScriptName = (typeof names)[number];

export type Scripts = {
  [N in ScriptName]: (keys: string[], args: (string | number)[]) => Promise<unknown>;
};

export function defineScripts(redis: Redis): Scripts {
  const scripts = {} as Scripts;
  for (const name of names) {
    const { lua, numberOfKeys } = loadLua(name);
    redis.defineCommand(name, { lua, numberOfKeys });
    scripts[name] = (keys, args) => {
      if (keys.length !== numberOfKeys) throw new Error(`${name} takes ${numberOfKeys} keys, got ${keys.length}`);
      return (redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!(...keys, ...args);
    };
  }
  return scripts;
}

/** Every script file on disk, for the test that checks each one loads and declares its keys. */
export const scriptFiles = () => readdirSync(dir).filter((f) => f.endsWith(".lua") && !f.startsWith("_"));
