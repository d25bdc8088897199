/**
 * Final touches to the generated OpenAPI document, so that a client (or a fuzzer) that follows it
 * is never refused: request bodies are documented as JSON (forms are accepted too, see the
 * descriptions), responses as JSON, and the text rules that TypeBox cannot check at runtime in code
 * points (the "name" and "message-body" formats) are spelled out as lengths and patterns.
 */
import { BODY_MAX, NAME_MAX } from "./common/text.ts";

// JavaScript's String.prototype.trim() whitespace: a value must have one character outside it.
const space = "\\u0009-\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
const nameControls = "\\u0000-\\u001f";
const bodyControls = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f";

const formats: Record<string, object> = {
  name: { minLength: 1, maxLength: NAME_MAX, pattern: `^[^${nameControls}]*[^${nameControls}${space}][^${nameControls}]*$` },
  "message-body": { minLength: 1, maxLength: BODY_MAX, pattern: `^[^${bodyControls}]*[^${bodyControls}${space}][^${bodyControls}]*$` },
};

type Node = Record<string, any>;

function refineSchemas(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(refineSchemas);
  if (!node || typeof node !== "object") return;
  const schema = node as Node;
  // Elysia documents a numeric query parameter as "an integer, or a string in integer format";
  // clients send integers, so document just that.
  if (Array.isArray(schema.anyOf)) {
    const numeric = schema.anyOf.filter((s: Node) => !(s.type === "string" && ["integer", "numeric"].includes(s.format)));
    if (numeric.length === 1 && numeric.length < schema.anyOf.length) {
      delete schema.anyOf;
      Object.assign(schema, numeric[0]);
    } else if (schema.anyOf.every((s: Node) => s.type === "string" && typeof s.const === "string")) {
      schema.enum = schema.anyOf.map((s: Node) => s.const);
      schema.type = "string";
      delete schema.anyOf;
    }
  }
  if (schema.type === "string" && typeof schema.format === "string" && formats[schema.format]) {
    Object.assign(schema, formats[schema.format]);
    delete schema.format;
  }
  for (const value of Object.values(schema)) refineSchemas(value);
}

function keepContent(content: Node | undefined, types: string[]): Node | undefined {
  if (!content) return content;
  const kept = Object.fromEntries(Object.entries(content).filter(([type]) => types.includes(type)));
  if (Object.keys(kept).length) return kept;
  const first = Object.values(content)[0];
  return first ? { [types[0]!]: first } : content;
}

export function refineOpenApi<T>(doc: T): T {
  const copy = structuredClone(doc) as Node;
  for (const [path, operations] of Object.entries<Node>(copy.paths ?? {})) {
    for (const operation of Object.values<Node>(operations)) {
      if (operation.requestBody) {
        operation.requestBody.content = keepContent(operation.requestBody.content, ["application/json"]);
        // A body whose every field is optional (creating a chat) may be left out.
        const schema = operation.requestBody.content?.["application/json"]?.schema;
        if (schema?.type === "object" && !schema.required?.length) operation.requestBody.required = false;
      }
      const streaming = path.endsWith("/events");
      for (const [status, response] of Object.entries<Node>(operation.responses ?? {})) {
        response.content = keepContent(response.content, streaming && status === "200" ? ["text/event-stream"] : ["application/json"]);
      }
      if (path.endsWith("/messages/search")) {
        // q is required (or its alias `query`): documented as required so generated calls carry it.
        operation.parameters = (operation.parameters ?? []).filter((p: Node) => p.name !== "query");
        const q = operation.parameters.find((p: Node) => p.name === "q");
        if (q) {
          q.required = true;
          q.schema = { ...q.schema, minLength: 1, maxLength: 256 };
          q.description = "1..256 characters (`query` is accepted as an alias); every word must match";
        }
      }
    }
  }
  refineSchemas(copy);
  return copy as T;
}
