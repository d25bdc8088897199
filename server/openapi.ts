/**
 * Final touches to the OpenAPI document that @elysiajs/swagger generates from the routes, so that a
 * client generator (openapi-typescript) or a fuzzer (schemathesis) can use it as it is:
 * - the shared models are published once under `components.schemas` and referred to by `$ref`. They
 *   are the very TypeBox objects the routes validate with (and scripts/gen-sdk-types.ts reads); a
 *   model carries `$id: "#/components/schemas/<Name>"` (`component()` in common/models.ts), which is
 *   how it is recognised wherever the plugin inlined it;
 * - the document is valid OpenAPI 3.0.3: `null` members become `nullable`, `const` becomes `enum`;
 * - every response has a description and documents the headers it is sent with (`X-Request-Id` on
 *   all, `Location` and `Idempotent-Replayed` on creates, `Retry-After` on 429 and 503, the
 *   `RateLimit-*` headers under a token), creates link to the operations on what they created;
 * - request bodies are documented as JSON (forms are accepted too, see the descriptions), responses
 *   as JSON, and the text rules that TypeBox cannot check at runtime in code points (the "name" and
 *   "message-body" formats) are spelled out as lengths and patterns;
 * - path parameters say what the routes accept (any other value is a 404), so that a generated
 *   client or a fuzzer is never refused for a value the document allows.
 */
import type { TSchema } from "@sinclair/typebox";
import { ErrorEnvelope } from "./common/models.ts";
import { MAX_NUMBER } from "./common/params.ts";
import { BODY_MAX, NAME_MAX } from "./common/text.ts";
import { Application, ApplicationInput, ApplicationPage } from "./features/applications/model.ts";
import { Chat, ChatCreate, ChatPage, ChatUpdate } from "./features/chats/model.ts";
import { Message, MessageInput, MessagePage } from "./features/messages/model.ts";
import { Health, Readiness } from "./features/ops/model.ts";
import { SearchHit, SearchPage } from "./features/search/model.ts";
import { WebhookEndpoint, WebhookEndpointCreated, WebhookEventType, WebhookInput, WebhookPage } from "./features/webhooks/model.ts";

/** Everything under `components.schemas`, by name: the same objects the routes use. */
export const componentSchemas: Record<string, TSchema> = {
  Application,
  ApplicationInput,
  ApplicationPage,
  Chat,
  ChatCreateInput: ChatCreate,
  ChatUpdateInput: ChatUpdate,
  ChatPage,
  Message,
  MessageInput,
  MessagePage,
  SearchHit,
  SearchPage,
  Error: ErrorEnvelope,
  Health,
  Readiness,
  WebhookEventType,
  WebhookEndpoint,
  WebhookEndpointCreated,
  WebhookInput,
  WebhookPage,
};

const SCHEMAS = "#/components/schemas/";
for (const [name, schema] of Object.entries(componentSchemas)) {
  if (schema.$id !== SCHEMAS + name) throw new Error(`OpenAPI model ${name} must carry component("${name}") (it has $id ${schema.$id})`);
}

/** The component a schema stands for, from its `$id`. */
const componentOf = (node: Node): string | undefined => {
  const id = node.$id;
  if (typeof id !== "string" || !id.startsWith(SCHEMAS)) return undefined;
  const name = id.slice(SCHEMAS.length);
  return componentSchemas[name] ? name : undefined;
};

const ref = (name: string) => ({ $ref: SCHEMAS + name });
const lowerFirst = (text: string) => text.charAt(0).toLowerCase() + text.slice(1);

// JavaScript's String.prototype.trim() whitespace: a value must have one character outside it.
const space = "\\u0009-\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
const nameControls = "\\u0000-\\u001f";
const bodyControls = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f";

const formats: Record<string, object> = {
  name: { minLength: 1, maxLength: NAME_MAX, pattern: `^[^${nameControls}]*[^${nameControls}${space}][^${nameControls}]*$` },
  "message-body": { minLength: 1, maxLength: BODY_MAX, pattern: `^[^${bodyControls}]*[^${bodyControls}${space}][^${bodyControls}]*$` },
};

type Node = Record<string, any>;

/**
 * One schema as OpenAPI 3.0.3: named models become `$ref`s (except the component itself, `root`),
 * `type: "null"` members become `nullable`, `const` becomes `enum`, custom formats become patterns.
 */
function toOpenApi(node: unknown, root = false): any {
  if (Array.isArray(node)) return node.map((item) => toOpenApi(item));
  if (!node || typeof node !== "object") return node;
  const name = root ? undefined : componentOf(node as Node);
  if (name) return ref(name);
  let schema: Node = {};
  for (const [key, value] of Object.entries(node as Node)) {
    if (key === "$id" || value === undefined) continue;
    // Under `properties` every key is a property name, each with its own schema.
    schema[key] = key === "properties" && value && typeof value === "object"
      ? Object.fromEntries(Object.entries(value).map(([prop, sub]) => [prop, toOpenApi(sub)]))
      : typeof value === "object" ? toOpenApi(value) : value;
  }
  if (Array.isArray(schema.anyOf)) {
    // Elysia documents a numeric query parameter as "an integer, or a string in integer format";
    // clients send integers, so document just that.
    const numeric = schema.anyOf.filter((s: Node) => !(s.type === "string" && ["integer", "numeric"].includes(s.format)));
    if (numeric.length === 1 && numeric.length < schema.anyOf.length) {
      const { anyOf: _, ...rest } = schema;
      schema = { ...numeric[0], ...rest };
    }
  }
  if (Array.isArray(schema.anyOf)) {
    // OpenAPI 3.0 has no null type: a nullable schema says so.
    const members = schema.anyOf.filter((s: Node) => s.type !== "null");
    if (members.length < schema.anyOf.length) {
      const { anyOf: _, ...rest } = schema;
      schema = members.length === 1 && !members[0].$ref ? { ...members[0], ...rest, nullable: true } : { ...rest, anyOf: members, nullable: true };
    }
  }
  if (Array.isArray(schema.anyOf) && schema.anyOf.length && schema.anyOf.every((s: Node) => Array.isArray(s.enum) && s.type === schema.anyOf[0].type && Object.keys(s).length === 2)) {
    const { anyOf, ...rest } = schema;
    schema = { type: anyOf[0].type, ...rest, enum: anyOf.flatMap((s: Node) => s.enum) };
  }
  if (schema.const !== undefined) {
    schema.enum = [schema.const];
    delete schema.const;
    schema.type ??= typeof schema.enum[0] === "number" ? "number" : typeof schema.enum[0];
  }
  if (schema.type === "string" && typeof schema.format === "string" && formats[schema.format]) {
    Object.assign(schema, formats[schema.format]);
    delete schema.format;
  }
  return schema;
}

/**
 * Response headers, copied into each response they are sent with (not `$ref`ed: generators such as
 * openapi-typescript take a referenced header for a required one).
 */
const headers: Record<string, Node> = {
  "X-Request-Id": {
    description: "The request's id: the client's own `X-Request-Id` when it is 1..200 visible ASCII characters, else a new UUID. Also on the request's log line.",
    required: true,
    schema: { type: "string", minLength: 1, maxLength: 200 },
  },
  Location: { description: "Path of the created resource", required: true, schema: { type: "string" } },
  "Idempotent-Replayed": {
    description: "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key` (nothing was created); absent otherwise",
    schema: { type: "string", enum: ["true"] },
  },
  "Retry-After": { description: "Seconds to wait before trying again", required: true, schema: { type: "integer", minimum: 1 } },
  "RateLimit-Limit": {
    description: "Requests per minute allowed for this application token. Sent when rate limiting is on (`RATE_LIMIT_PER_MINUTE`)",
    schema: { type: "integer", minimum: 1 },
  },
  "RateLimit-Remaining": { description: "Requests left in the current window. Sent when rate limiting is on", schema: { type: "integer", minimum: 0 } },
  "RateLimit-Reset": { description: "Seconds until the bucket is full again. Sent when rate limiting is on", schema: { type: "integer", minimum: 0 } },
  "WWW-Authenticate": { description: "`Bearer realm=\"admin\"`", required: true, schema: { type: "string" } },
  Upgrade: { description: "`websocket`", required: true, schema: { type: "string", enum: ["websocket"] } },
};
const header = (name: string, required = headers[name]!.required === true) => ({ ...structuredClone(headers[name]!), required });

const statusText: Record<string, string> = {
  "101": "Switching Protocols: the WebSocket is open",
  "200": "OK",
  "201": "Created",
  "204": "No Content: done",
  "400":
    "Bad Request: malformed body or parameters (JSON that does not parse, invalid UTF-8, a bad `limit`, `order` or `cursor`, a repeated query parameter or one with control characters, an over-long `Idempotency-Key`, a bad `Last-Event-ID`)",
  "401": "Unauthorized: the admin key is missing (`Authorization: Bearer <ADMIN_API_KEY>`)",
  "403": "Forbidden: wrong admin key",
  "404": "Not Found: unknown token, chat or message (also a non-numeric or out-of-range number)",
  "409": "Conflict: this `Idempotency-Key` was used with another body",
  "413": "Payload Too Large: the body is over 64 KiB",
  "415": "Unsupported Media Type: send application/json, application/x-www-form-urlencoded or multipart/form-data, in UTF-8",
  "422": "Unprocessable Entity: the body is invalid (a missing, empty or too long field, a wrong type, forbidden control characters); `details` says where",
  "426": "Upgrade Required: this endpoint speaks WebSocket only",
  "429": "Too Many Requests: this application's rate limit is spent; try again after `Retry-After` seconds",
  "503": "Service Unavailable: a dependency (MySQL, Redis or Elasticsearch) is down; try again after `Retry-After` seconds",
};

/** Streams and text: the only responses that are not JSON. */
const textResponses: Record<string, { type: string; description: string }> = {
  "events.stream": {
    type: "text/event-stream",
    description: "OK: a Server-Sent Events stream (`id:`, `event:` message.created | message.updated | message.deleted, `data:` {\"type\", \"message\"}), open until the client leaves",
  },
  "ops.metrics": { type: "text/plain", description: "OK: Prometheus metrics in the text exposition format" },
};

const TOKEN_PATH = "/api/v1/applications/{token}";
/** Creates whose rate limit is taken inside the create script: only their 429 carries RateLimit-*. */
const scriptCreates = new Set(["chats.create", "messages.create"]);

/** What the routes accept in the path; anything else is a 404 (common/params.ts). */
const pathParams: Record<string, Node> = {
  token: { description: "the application's secret token", schema: { type: "string", pattern: "^[A-Za-z0-9_-]{32}$" } },
  chat: { description: "chat number", schema: { type: "integer", minimum: 1, maximum: MAX_NUMBER } },
  message: { description: "message number", schema: { type: "integer", minimum: 1, maximum: MAX_NUMBER } },
};

/** Query parameters are refused (400) when they hold control characters (common/guard.ts). */
const noControls = "^[^\\u0000-\\u001f\\u007f]*$";
// An event id as Redis writes it; 19 digits each stay within Redis's 64-bit range.
const eventId = "^[0-9]{1,19}-[0-9]{1,19}$";

function refineParameter(parameter: Node, operationId: string): Node {
  const p: Node = { ...parameter, schema: toOpenApi(parameter.schema ?? {}) };
  if (p.in === "path" && pathParams[p.name]) return { ...p, ...pathParams[p.name], required: true };
  if (p.in === "query" && p.schema.type === "string" && !p.schema.pattern && !p.schema.enum) p.schema.pattern = noControls;
  if (p.in === "header" && p.name.toLowerCase() === "last-event-id") {
    return { ...p, name: "Last-Event-ID", description: "resume after this event id (the `id:` of the last event received)", schema: { type: "string", pattern: eventId } };
  }
  if (p.in === "header" && p.name.toLowerCase() === "idempotency-key") return { ...p, name: "Idempotency-Key" };
  if (operationId === "messages.search" && p.name === "q") {
    // q is required (or its alias `query`): documented as required so generated calls carry it.
    return {
      ...p,
      required: true,
      description: "1..256 characters (`query` is accepted as an alias); every word must match (whole word, prefix, or a 3+ character fragment)",
      schema: { type: "string", minLength: 1, maxLength: 256, pattern: noControls },
    };
  }
  return p;
}

function refineResponse(response: Node, status: string, operationId: string, path: string): Node {
  const name = componentOf(response);
  const out: Node = {};
  const text = statusText[status] ?? `HTTP ${status}`;
  // What the body is, when it is a model other than the error envelope ("OK: an application; …").
  const what = name && name !== "Error" ? lowerFirst(componentSchemas[name]!.description ?? "") : "";
  const textType = status === "200" ? textResponses[operationId] : undefined;
  out.description =
    status === "503" && name === "Readiness" ? "Service Unavailable: a dependency is down; the body says which" : textType ? textType.description : what ? `${text.split(":")[0]}: ${what}` : text;
  const content = response.content as Node | undefined;
  const inlined = content ? (Object.values(content)[0] as Node | undefined)?.schema : undefined;
  if (name) out.content = { "application/json": { schema: ref(name) } };
  else if (textType) out.content = { [textType.type]: { schema: { type: "string" } } };
  else if (inlined && status !== "204" && status !== "101") out.content = { "application/json": { schema: toOpenApi(inlined) } };

  const h: Node = { "X-Request-Id": header("X-Request-Id") };
  if (status === "201") Object.assign(h, { Location: header("Location"), "Idempotent-Replayed": header("Idempotent-Replayed") });
  if (status === "429" || (status === "503" && operationId !== "ops.ready")) h["Retry-After"] = header("Retry-After");
  const underToken = path.startsWith(TOKEN_PATH);
  // Every 429 carries them; other responses under a token when they passed the limiter.
  if (underToken && (status === "429" || !scriptCreates.has(operationId))) {
    for (const n of ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]) h[n] = header(n, status === "429");
  }
  if (status === "401") h["WWW-Authenticate"] = header("WWW-Authenticate");
  if (status === "426") h.Upgrade = header("Upgrade");
  out.headers = h;
  return out;
}

/** The WebSocket twin of the event stream: Elysia's swagger plugin leaves `.ws()` routes out. */
function websocketOperation(): Node {
  const errors = ["400", "404", "426", "429", "503"];
  return {
    operationId: "events.websocket",
    tags: ["events"],
    summary: "Live events of a chat (WebSocket)",
    description:
      "A WebSocket upgrade (RFC 6455). The server sends one JSON text frame per event, `{ id, type, message }`, with the same events as the Server-Sent Events stream; clients send nothing. A plain GET (no upgrade) is answered 426.",
    parameters: [
      { in: "path", name: "token", required: true },
      { in: "path", name: "chat", required: true },
      { in: "query", name: "last_event_id", required: false, description: "resume after this event id", schema: { type: "string", pattern: eventId } },
    ],
    responses: Object.fromEntries([["101", {}], ...errors.map((s) => [s, { $id: SCHEMAS + "Error" }])]),
  };
}

const params = (path: string) => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);

/**
 * A model as a component. Request bodies stay open, as the API treats them: other fields are
 * ignored, except that a key named after an Object.prototype member or then/toJSON, at any depth,
 * is refused (common/input.ts). OpenAPI 3.0 cannot say that in a schema: the description does.
 */
function component(name: string, schema: TSchema): Node {
  const out = toOpenApi(JSON.parse(JSON.stringify(schema)), true);
  if (name.endsWith("Input")) {
    out.description = `${out.description}. Other fields are ignored, but a key named after an Object.prototype member (\`__proto__\`, \`constructor\`, \`toString\`, …), \`then\` or \`toJSON\`, at any depth, is refused (422).`;
  }
  return out;
}

/** OpenAPI links from each create to the operations on what it created (for clients and stateful fuzzers). */
function addLinks(paths: Node) {
  const operations = Object.entries<Node>(paths).flatMap(([path, ops]) => Object.values<Node>(ops).map((op) => ({ path, op })));
  for (const { path, op } of operations) {
    const created = op.responses?.["201"];
    if (!created) continue;
    const item = Object.keys(paths).find((p) => p.startsWith(path + "/{") && !p.slice(path.length + 1).includes("/"));
    if (!item) continue;
    const param = item.slice(path.length + 2, -1);
    const field = param === "token" ? "token" : "number";
    const known = new Set([...params(path), param]);
    const links: Node = {};
    for (const target of operations) {
      if (target.path !== item && !target.path.startsWith(item + "/")) continue;
      // Only operations whose every path parameter the create's request or answer gives.
      const names = params(target.path);
      if (!names.every((n) => known.has(n))) continue;
      links[target.op.operationId] = {
        operationId: target.op.operationId,
        parameters: Object.fromEntries(names.map((n) => [n, n === param ? `$response.body#/${field}` : `$request.path.${n}`])),
      };
    }
    if (Object.keys(links).length) created.links = links;
  }
}

export function refineOpenApi<T>(doc: T): T {
  const source = doc as Node;
  const copy: Node = { ...structuredClone({ ...source, paths: undefined, components: undefined }) };
  const paths: Node = {};
  for (const [rawPath, operations] of Object.entries<Node>(source.paths ?? {})) {
    // Routes answer with and without a trailing slash; the document names each once, without.
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, "") : rawPath;
    const refined: Node = (paths[path] ??= {});
    for (const [method, operation] of Object.entries<Node>(structuredClone(operations))) {
      const operationId: string = operation.operationId;
      operation.parameters = (operation.parameters ?? [])
        .filter((p: Node) => !(operationId === "messages.search" && p.in === "query" && p.name === "query"))
        .map((p: Node) => refineParameter(p, operationId));
      if (!operation.parameters.length) delete operation.parameters;
      if (operation.requestBody) {
        const content = operation.requestBody.content as Node | undefined;
        const entry = content?.["application/json"] ?? (content ? Object.values(content)[0] : undefined);
        const name = entry?.schema ? componentOf(entry.schema) : undefined;
        const schema = name ? componentSchemas[name] : entry?.schema;
        operation.requestBody = {
          description: schema?.description,
          // A body whose every field is optional (creating a chat) may be left out.
          required: !(schema?.type === "object" && !schema.required?.length),
          content: { "application/json": { schema: name ? ref(name) : toOpenApi(entry?.schema ?? {}) } },
        };
      }
      operation.responses = Object.fromEntries(
        Object.entries<Node>(operation.responses ?? {}).map(([status, response]) => [status, refineResponse(response, status, operationId, path)]),
      );
      refined[method] = operation;
    }
  }
  const ws = `${TOKEN_PATH}/chats/{chat}/ws`;
  if (paths[`${TOKEN_PATH}/chats/{chat}/events`] && !paths[ws]) {
    const op = websocketOperation();
    op.parameters = op.parameters.map((p: Node) => refineParameter(p, op.operationId));
    op.responses = Object.fromEntries(Object.entries<Node>(op.responses).map(([s, r]) => [s, refineResponse(r, s, op.operationId, ws)]));
    paths[ws] = { get: op };
  }
  addLinks(paths);
  copy.paths = paths;
  copy.servers ??= [{ url: "/", description: "this server" }];
  const components = structuredClone(source.components ?? {});
  copy.components = {
    ...components,
    schemas: Object.fromEntries(Object.entries(componentSchemas).map(([name, schema]) => [name, component(name, schema)])),
    securitySchemes: {
      adminKey: { type: "http", scheme: "bearer", description: "`Authorization: Bearer <ADMIN_API_KEY>`" },
      ...components.securitySchemes,
    },
  };
  return copy as T;
}
