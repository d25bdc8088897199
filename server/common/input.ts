/**
 * Structural rules for client input, checked before any schema sees it (SPEC §6.4):
 * - no key that shadows an Object.prototype member (`toString`, `__proto__`, `constructor`, …) or
 *   changes how a value behaves (`then` makes it a thenable, `toJSON` its JSON form), at any depth;
 * - nesting is bounded;
 * - percent-encoded text (query strings, form bodies) decodes to valid UTF-8.
 * Schemas and their error formatting then only meet plain data: Elysia's formatter interpolates a
 * value of the wrong type into a string, which throws for `{"toString": 1}` (a 500) and overflows the
 * stack for thousands of nested arrays.
 */

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), "then", "toJSON"]);

/** Deepest nesting of arrays and objects a body may have (the API's bodies are flat). */
export const MAX_DEPTH = 32;

export type StructureProblem = { kind: "depth" } | { kind: "key"; key: string; path: string };

// A path segment is shown only when it is a plain identifier: error details never echo input.
const segment = (key: string | number) => (/^[A-Za-z0-9_$-]{1,64}$/.test(String(key)) ? String(key) : "*");

/** The first structural problem of a parsed JSON value, or undefined. Iterative, so depth cannot overflow the stack. */
export function structureProblem(value: unknown): StructureProblem | undefined {
  const stack: [unknown, number, string][] = [[value, 0, ""]];
  while (stack.length) {
    const [node, depth, path] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth >= MAX_DEPTH) return { kind: "depth" };
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (node[i] !== null && typeof node[i] === "object") stack.push([node[i], depth + 1, `${path}/${i}`]);
      continue;
    }
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) return { kind: "key", key, path: `${path}/${key}` };
      const child = (node as Record<string, unknown>)[key];
      if (child !== null && typeof child === "object") stack.push([child, depth + 1, `${path}/${segment(key)}`]);
    }
  }
  return undefined;
}

/**
 * A flat field name (`a`, `a[b]`, `a.b`, as query strings and forms write nesting) with a forbidden
 * part: a framework that expands such names would build exactly the objects refused above.
 */
export function hasForbiddenPart(name: string): boolean {
  return name.split(/[[\].]+/).some((part) => FORBIDDEN_KEYS.has(part));
}

/** The name of a field shown in an error message, or a placeholder when it is not a plain identifier. */
export const fieldName = (name: string) => (/^[A-Za-z0-9_-]{1,64}$/.test(name) ? `"${name}"` : "a field");

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes one name or value of `application/x-www-form-urlencoded` text as URLSearchParams does
 * (`+` is a space; a `%` that starts no escape stays as it is), except that escapes must spell
 * valid UTF-8: URLSearchParams turns `%FF` or an encoded surrogate into U+FFFD silently.
 * Undefined when they do not.
 */
export function decodeFormComponent(text: string): string | undefined {
  const spaced = text.includes("+") ? text.replaceAll("+", " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    // Unescaped characters are whole code points, so each run of escapes must be valid on its own.
    return spaced.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => utf8.decode(Buffer.from(run.replaceAll("%", ""), "hex")));
  } catch {
    return undefined;
  }
}

/** Name/value pairs of a query string or form body; undefined when one is not valid UTF-8. */
export function formPairs(text: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeFormComponent(eq < 0 ? part : part.slice(0, eq));
    const value = decodeFormComponent(eq < 0 ? "" : part.slice(eq + 1));
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}
