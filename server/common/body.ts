/**
 * Request bodies: JSON, form-urlencoded and multipart, at most 64 KiB, strictly UTF-8, and
 * structurally plain (input.ts). Anything else is a clear 4xx before a handler runs (SPEC §3.5).
 */
import { isUtf8 } from "node:buffer";
import { Elysia } from "elysia";
import { badRequest, payloadTooLarge, unsupportedMediaType, validationFailed } from "../errors.ts";
import { MAX_DEPTH, fieldName, formPairs, hasForbiddenPart, structureProblem } from "./input.ts";

export const MAX_BODY_BYTES = 64 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

async function readLimited(request: Request): Promise<Uint8Array> {
  const length = request.headers.get("content-length");
  if (Number(length) > MAX_BODY_BYTES) throw payloadTooLarge(MAX_BODY_BYTES);
  // A declared length is enforced by Bun's HTTP framing: read it natively in one go (a stream
  // reader costs about a fifth of a create's CPU). Only chunked bodies are read piece by piece.
  if (length !== null || !request.body) return new Uint8Array(await request.arrayBuffer());
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(MAX_BODY_BYTES);
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest("the request body is not valid UTF-8");
  }
}

const forbiddenKey = (path: string) =>
  validationFailed("the request body has a key that is not allowed (one that shadows an Object.prototype member, or then/toJSON)", [{ path, message: "key not allowed" }]);

/** Form fields as an object: text only, each name once (a repeat is ambiguous), no forbidden names. */
function fromEntries(entries: Iterable<[string, FormDataEntryValue | string]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    if (hasForbiddenPart(key)) throw forbiddenKey(/^[A-Za-z0-9_$[\].-]{1,64}$/.test(key) ? `/${key}` : "/");
    if (typeof value !== "string") throw validationFailed(`field ${fieldName(key)} must be text, not a file`);
    if (Object.hasOwn(out, key)) throw badRequest(`field ${fieldName(key)} is given more than once`);
    out[key] = value;
  }
  return out;
}

/** The API reads UTF-8 only: a body declared in another charset would be misread, not refused. */
function checkCharset(contentType: string, type: string) {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType)?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") throw unsupportedMediaType(type, "a charset other than UTF-8");
}

export async function parseBody(request: Request): Promise<unknown> {
  const bytes = await readLimited(request);
  const contentType = request.headers.get("content-type") ?? "";
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  checkCharset(contentType, type);
  if (bytes.byteLength === 0) {
    if (type === "" || type === "application/json" || type.endsWith("+json")) return {};
  }
  if (type === "application/json" || type.endsWith("+json")) {
    const text = decode(bytes);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw badRequest("the request body is not valid JSON");
    }
    // Every body of this API is an object; TypeBox would let an array through an all-optional schema.
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw validationFailed("the request body must be a JSON object");
    const problem = structureProblem(value);
    if (problem?.kind === "depth") throw badRequest(`the request body is nested more than ${MAX_DEPTH} levels deep`);
    if (problem) throw forbiddenKey(problem.path);
    return value;
  }
  if (type === "application/x-www-form-urlencoded") {
    const pairs = formPairs(decode(bytes));
    if (!pairs) throw badRequest("the form body is not valid UTF-8 once percent-decoded");
    return fromEntries(pairs);
  }
  if (type === "multipart/form-data") {
    let form: FormData;
    try {
      form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": request.headers.get("content-type")! } }).formData();
    } catch {
      throw badRequest("the multipart body could not be parsed");
    }
    // Text parts with invalid UTF-8 come out of formData() with U+FFFD in them: check the bytes
    // (after the parts, so that a file part is still the clearer 422).
    const fields = fromEntries(form.entries());
    if (!isUtf8(bytes)) throw badRequest("the request body is not valid UTF-8");
    return fields;
  }
  if (bytes.byteLength === 0 && type === "") return {};
  throw unsupportedMediaType(type, type ? undefined : "a body without a content type");
}

/** Replaces Elysia's parsers for every route that reads a body. */
export const bodyParser = new Elysia({ name: "body-parser" }).onParse({ as: "global" }, ({ request }) => parseBody(request));
