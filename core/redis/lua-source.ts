/**
 * The text of each Lua script as Redis gets it: its file under scripts/, with every
 * `-- @include file.lua` line replaced by that helper file, keeping only the helpers it calls.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(import.meta.dir, "scripts");

export function loadLua(name: string): { lua: string; numberOfKeys: number } {
  const source = readFileSync(join(dir, `${name}.lua`), "utf8");
  const lua = withoutUnusedHelpers(source.replace(/^-- @include (\S+)$/gm, (_line, file: string) => readFileSync(join(dir, file), "utf8")));
  const numberOfKeys = new Set(source.match(/^-- KEYS\[\d+\]/gm) ?? []).size;
  return { lua, numberOfKeys };
}

/**
 * A script's body runs as one Lua function per call, so every `local function` in it is a closure
 * built on every call, whether the script calls it or not (the create script paid about 2 µs of
 * Redis CPU per call for the helpers of its includes that it never calls). Keeps only the functions
 * the rest of the script calls, directly or through a kept one. Functions are recognised as the
 * helper files write them: `local function name(` and a closing `end`, both at the start of a line.
 */
export function withoutUnusedHelpers(lua: string): string {
  type Chunk = { name?: string; lines: string[] };
  const chunks: Chunk[] = [{ lines: [] }];
  let open: Chunk | undefined;
  for (const line of lua.split("\n")) {
    const name = open ? undefined : /^local function ([A-Za-z_]\w*)\(/.exec(line)?.[1];
    if (name) chunks.push((open = { name, lines: [] }));
    (open ?? chunks.at(-1)!).lines.push(line);
    if (open && line === "end") {
      open = undefined;
      chunks.push({ lines: [] });
    }
  }
  if (open) throw new Error(`Lua function ${open.name} has no "end" at the start of a line`);
  const functions = chunks.filter((c) => c.name !== undefined);
  // Whole-line comments name helpers too ("-- see overlay_get"): they call nothing.
  const called = (text: string) => {
    const code = text.replace(/^\s*--.*$/gm, "");
    return functions.filter((f) => new RegExp(`\\b${f.name}\\b`).test(code)).map((f) => f.name!);
  };
  const kept = new Set<string>();
  const pending = called(chunks.filter((c) => c.name === undefined).map((c) => c.lines.join("\n")).join("\n"));
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (kept.has(name)) continue;
    kept.add(name);
    pending.push(...called(functions.find((f) => f.name === name)!.lines.slice(1).join("\n")));
  }
  return chunks.filter((c) => c.name === undefined || kept.has(c.name)).map((c) => c.lines.join("\n")).join("\n");
}

/** Every script file on disk, for the test that checks each one against its contract. */
export const scriptFiles = () => readdirSync(dir).filter((f) => f.endsWith(".lua") && !f.startsWith("_"));
