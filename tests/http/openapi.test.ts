/**
 * The OpenAPI document at /swagger/json is one a client generator can use: shared schemas under
 * components referenced by `$ref`, `resource.action` operation ids, a description and the headers
 * on every response, every route with every error it can answer; and a client generated from it by
 * openapi-typescript type-checks a program (and catches a mistake in one).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import { componentSchemas } from "../../server/openapi.ts";
import { call } from "../support/http.ts";
import { startApi, type Api } from "../support/processes.ts";

type Node = Record<string, any>;
const root = join(import.meta.dir, "../..");
const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];

let api: Api;
let doc: Node;
let operations: { path: string; method: string; op: Node }[];

beforeAll(async () => {
  api = await startApi();
  const res = await fetch(`${api.url}/swagger/json`);
  expect(res.status).toBe(200);
  doc = await res.json();
  operations = Object.entries<Node>(doc.paths).flatMap(([path, item]) =>
    Object.entries<Node>(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op })),
  );
});
afterAll(async () => {
  await api?.stop();
});

const T = "/api/v1/applications/{token}";
/** Every route, with every status it can answer (SPEC §3.5). */
const expected: Record<string, [method: string, path: string, statuses: number[]]> = {
  "applications.create": ["post", "/api/v1/applications", [201, 400, 409, 413, 415, 422, 503]],
  "applications.list": ["get", "/api/v1/applications", [200, 400, 401, 403, 503]],
  "applications.get": ["get", T, [200, 400, 404, 429, 503]],
  "applications.update": ["patch", T, [200, 400, 404, 413, 415, 422, 429, 503]],
  "applications.replace": ["put", T, [200, 400, 404, 413, 415, 422, 429, 503]],
  "applications.delete": ["delete", T, [204, 400, 404, 413, 415, 422, 429, 503]],
  "chats.create": ["post", `${T}/chats`, [201, 400, 404, 409, 413, 415, 422, 429, 503]],
  "chats.list": ["get", `${T}/chats`, [200, 400, 404, 429, 503]],
  "chats.get": ["get", `${T}/chats/{chat}`, [200, 400, 404, 429, 503]],
  "chats.update": ["patch", `${T}/chats/{chat}`, [200, 400, 404, 413, 415, 422, 429, 503]],
  "chats.replace": ["put", `${T}/chats/{chat}`, [200, 400, 404, 413, 415, 422, 429, 503]],
  "chats.delete": ["delete", `${T}/chats/{chat}`, [204, 400, 404, 413, 415, 422, 429, 503]],
  "messages.create": ["post", `${T}/chats/{chat}/messages`, [201, 400, 404, 409, 413, 415, 422, 429, 503]],
  "messages.list": ["get", `${T}/chats/{chat}/messages`, [200, 400, 404, 429, 503]],
  "messages.get": ["get", `${T}/chats/{chat}/messages/{message}`, [200, 400, 404, 429, 503]],
  "messages.update": ["patch", `${T}/chats/{chat}/messages/{message}`, [200, 400, 404, 405, 413, 415, 422, 429, 503]],
  "messages.replace": ["put", `${T}/chats/{chat}/messages/{message}`, [200, 400, 404, 405, 413, 415, 422, 429, 503]],
  "messages.delete": ["delete", `${T}/chats/{chat}/messages/{message}`, [204, 400, 404, 405, 413, 415, 422, 429, 503]],
  "messages.search": ["get", `${T}/chats/{chat}/messages/search`, [200, 400, 404, 429, 503]],
  "events.stream": ["get", `${T}/chats/{chat}/events`, [200, 400, 404, 429, 503]],
  "events.websocket": ["get", `${T}/chats/{chat}/ws`, [101, 400, 404, 426, 429, 503]],
  "webhooks.create": ["post", `${T}/webhooks`, [201, 400, 404, 409, 413, 415, 422, 429, 503]],
  "webhooks.list": ["get", `${T}/webhooks`, [200, 400, 404, 429, 503]],
  "webhooks.get": ["get", `${T}/webhooks/{id}`, [200, 400, 404, 429, 503]],
  "webhooks.delete": ["delete", `${T}/webhooks/{id}`, [204, 400, 404, 413, 415, 422, 429, 503]],
  "ops.health": ["get", "/healthz", [200, 400]],
  "ops.ready": ["get", "/readyz", [200, 400, 503]],
  "ops.metrics": ["get", "/metrics", [200, 400, 503]],
};

/** Follows a local `$ref`. */
function resolve(node: Node): Node {
  if (typeof node?.$ref !== "string") return node;
  const target = node.$ref
    .slice(2)
    .split("/")
    .reduce((at: Node | undefined, part: string) => at?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  if (!target) throw new Error(`unresolved ${node.$ref}`);
  return resolve(target);
}

function* walk(node: unknown, path = "#"): Generator<[Node, string]> {
  if (!node || typeof node !== "object") return;
  if (!Array.isArray(node)) yield [node as Node, path];
  for (const [key, value] of Object.entries(node)) yield* walk(value, `${path}/${key}`);
}

const jsonSchema = (holder: Node | undefined) => holder?.content?.["application/json"]?.schema;
const headerNames = (response: Node) => Object.keys(response.headers ?? {}).map((h) => h.toLowerCase());

describe("the OpenAPI document", () => {
  test("is served as JSON with the UI beside it; OpenAPI 3.0.3 with servers and the admin bearer scheme", async () => {
    const ui = await fetch(`${api.url}/swagger`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get("content-type")).toContain("text/html");
    await ui.text();
    expect(doc.openapi).toBe("3.0.3");
    expect(doc.servers).toEqual([{ url: "/", description: expect.any(String) }]);
    expect(doc.components.securitySchemes.adminKey).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/api/v1/applications"].get.security).toEqual([{ adminKey: [] }]);
    const tags = new Set(doc.tags.map((t: Node) => t.name));
    for (const { op } of operations) for (const tag of op.tags ?? []) expect(tags.has(tag)).toBe(true);
  });

  test("describes the admin scheme also when no admin key is configured (and the admin list is then absent)", async () => {
    const bare = await startApi({ ADMIN_API_KEY: "" });
    try {
      const other = (await (await fetch(`${bare.url}/swagger/json`)).json()) as Node;
      expect(other.components.securitySchemes.adminKey).toMatchObject({ type: "http", scheme: "bearer" });
      expect(other.servers).toEqual(doc.servers);
      expect(other.paths["/api/v1/applications"].get).toBeUndefined();
      expect(other.paths["/api/v1/applications"].post.operationId).toBe("applications.create");
    } finally {
      await bare.stop();
    }
  });

  test("has every route once, with a unique resource.action operationId and every error status it can answer", () => {
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+\.[a-z][A-Za-z]*$/);
    expect(ids.sort()).toEqual(Object.keys(expected).sort());
    for (const { path, method, op } of operations) {
      const [m, p, statuses] = expected[op.operationId]!;
      expect(`${method} ${path}`).toBe(`${m} ${p}`);
      expect(Object.keys(op.responses).map(Number).sort()).toEqual([...statuses].sort());
    }
    // Paths are written once, without a trailing slash.
    for (const path of Object.keys(doc.paths)) expect(path === "/" || !path.endsWith("/")).toBe(true);
  });

  test("every response of every operation has a description", () => {
    const responses = operations.flatMap(({ op }) => Object.values<Node>(op.responses).map(resolve));
    const missing = responses.filter((r) => typeof r.description !== "string" || r.description.trim() === "");
    expect(responses.length).toBeGreaterThan(150);
    expect(missing.length).toBe(0);
  });

  test("publishes the shared schemas under components and refers to them by $ref", () => {
    const schemas = doc.components.schemas as Node;
    const required = ["Application", "ApplicationPage", "ApplicationInput", "Chat", "ChatPage", "ChatCreateInput", "ChatUpdateInput"];
    required.push("Message", "MessagePage", "MessageInput", "SearchHit", "SearchPage", "Error", "Health", "Readiness");
    required.push("WebhookEndpoint", "WebhookEndpointCreated", "WebhookInput", "WebhookPage", "WebhookEventType");
    for (const name of required) expect(Object.keys(schemas)).toContain(name);
    // The same TypeBox objects the routes validate with.
    expect(Object.keys(schemas).sort()).toEqual(Object.keys(componentSchemas).sort());

    const refs = new Set<string>();
    for (const [node, at] of walk(doc)) {
      expect(`${at}: ${"$id" in node}`).toBe(`${at}: false`);
      if (typeof node.$ref === "string") {
        refs.add(node.$ref);
        expect(() => resolve(node)).not.toThrow();
      }
    }
    for (const name of required) expect(refs.has(`#/components/schemas/${name}`)).toBe(true);

    const op = (id: string) => operations.find((o) => o.op.operationId === id)!.op;
    expect(jsonSchema(op("messages.create").requestBody)).toEqual({ $ref: "#/components/schemas/MessageInput" });
    expect(jsonSchema(op("messages.create").responses["201"])).toEqual({ $ref: "#/components/schemas/Message" });
    expect(jsonSchema(op("messages.list").responses["200"])).toEqual({ $ref: "#/components/schemas/MessagePage" });
    expect(jsonSchema(op("messages.search").responses["200"])).toEqual({ $ref: "#/components/schemas/SearchPage" });
    expect(jsonSchema(op("chats.create").requestBody)).toEqual({ $ref: "#/components/schemas/ChatCreateInput" });
    expect(op("chats.create").requestBody.required).toBe(false);
    expect(jsonSchema(op("chats.update").requestBody)).toEqual({ $ref: "#/components/schemas/ChatUpdateInput" });
    expect(jsonSchema(op("applications.replace").requestBody)).toEqual({ $ref: "#/components/schemas/ApplicationInput" });
    expect(schemas.MessagePage.properties.data.items).toEqual({ $ref: "#/components/schemas/Message" });
    expect(schemas.SearchPage.properties.data.items).toEqual({ $ref: "#/components/schemas/SearchHit" });
    expect(schemas.Chat.properties.name).toMatchObject({ type: "string", nullable: true });
    for (const { op } of operations) {
      for (const [status, response] of Object.entries<Node>(op.responses)) {
        if (Number(status) >= 400 && op.operationId !== "ops.ready") expect(jsonSchema(response)).toEqual({ $ref: "#/components/schemas/Error" });
      }
    }
    // No inline copy of a model: an object schema with a model's properties is that model's $ref.
    const shapes = Object.entries(schemas).map(([name, s]) => [name, Object.keys((s as Node).properties ?? {}).sort().join()] as const);
    for (const [node, at] of walk(doc.paths)) {
      if (node.type !== "object" || !node.properties) continue;
      const keys = Object.keys(node.properties).sort().join();
      expect(`${at}: ${shapes.find(([, shape]) => shape === keys)?.[0]}`).toBe(`${at}: undefined`);
    }
  });

  test("documents the response headers where they are sent", () => {
    let checked = 0;
    for (const { path, op } of operations) {
      for (const [status, response] of Object.entries<Node>(op.responses)) {
        const names = headerNames(response);
        const required = (name: string) => Object.entries<Node>(response.headers).find(([n]) => n.toLowerCase() === name)?.[1].required;
        expect(`${op.operationId} ${status} x-request-id: ${required("x-request-id")}`).toBe(`${op.operationId} ${status} x-request-id: true`);
        if (status === "201") {
          expect(required("location")).toBe(true);
          expect(names).toContain("idempotent-replayed");
        }
        if (status === "429" || (status === "503" && op.operationId !== "ops.ready")) expect(required("retry-after")).toBe(true);
        if (path.startsWith(T) && (status === "429" || !["chats.create", "messages.create"].includes(op.operationId))) {
          for (const h of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]) expect(`${op.operationId} ${status} ${names.includes(h)}`).toBe(`${op.operationId} ${status} true`);
        }
        if (status === "429") for (const h of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]) expect(required(h)).toBe(true);
        if (status === "401") expect(names).toContain("www-authenticate");
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  test("creates link to the operations on what they created", () => {
    const create = doc.paths[`${T}/chats`].post.responses["201"].links;
    expect(create["messages.create"]).toEqual({
      operationId: "messages.create",
      parameters: { token: "$request.path.token", chat: "$response.body#/number" },
    });
    const app = doc.paths["/api/v1/applications"].post.responses["201"].links;
    expect(app["applications.get"].parameters).toEqual({ token: "$response.body#/token" });
    const ids = new Set(operations.map(({ op }) => op.operationId));
    for (const { op } of operations) for (const link of Object.values<Node>(op.responses["201"]?.links ?? {})) expect(ids.has(link.operationId)).toBe(true);
  });

  test("a real create sends the headers its 201 documents as required", async () => {
    const res = await call(api.url, "POST", "/applications", { name: "openapi" }, { "idempotency-key": `openapi-${crypto.randomUUID()}` });
    expect(res.status).toBe(201);
    const documented = doc.paths["/api/v1/applications"].post.responses["201"].headers as Node;
    for (const [name, header] of Object.entries<Node>(documented)) if (header.required) expect(`${name}: ${res.headers.has(name)}`).toBe(`${name}: true`);
    const replay = await call(api.url, "POST", "/applications", { name: "openapi" }, { "idempotency-key": "openapi-replay-" + res.json.token });
    const again = await call(api.url, "POST", "/applications", { name: "openapi" }, { "idempotency-key": "openapi-replay-" + res.json.token });
    expect(replay.headers.has("idempotent-replayed")).toBe(false);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });
});

describe("a client generated by openapi-typescript", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "openapi-client-"));
    await writeFile(join(dir, "schema.ts"), astToString(await openapiTS(doc as any)));
    // The SDK's generated types, to check that they and the document describe the same models.
    await writeFile(join(dir, "sdk-types.ts"), await Bun.file(join(root, "sdk/src/types.gen.ts")).text());
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const program = (extra = "") => `
import type { components, operations, paths } from "./schema";
import type * as Sdk from "./sdk-types";

type PostMessage = paths["/api/v1/applications/{token}/chats/{chat}/messages"]["post"];
type MessageInput = PostMessage["requestBody"]["content"]["application/json"];
type Created = PostMessage["responses"][201]["content"]["application/json"];
type Message = components["schemas"]["Message"];
type ApiError = components["schemas"]["Error"];

export async function postMessage(base: string, path: PostMessage["parameters"]["path"], input: MessageInput, key?: string): Promise<Message> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers["idempotency-key"] = key;
  const res = await fetch(\`\${base}/api/v1/applications/\${path.token}/chats/\${path.chat}/messages\`, { method: "POST", headers, body: JSON.stringify(input) });
  if (res.status !== 201) {
    const failure = (await res.json()) as ApiError;
    throw new Error(\`\${failure.error.code}: \${failure.error.message}\`);
  }
  const created = (await res.json()) as Created;
  const number: number = created.number;
  void number;
  return created;
}

export function firstPage(page: components["schemas"]["MessagePage"]): { numbers: number[]; next: string | null } {
  return { numbers: page.data.map((m) => m.number), next: page.next_cursor };
}

export function hits(page: operations["messages.search"]["responses"][200]["content"]["application/json"]): string[] {
  return page.data.map((hit) => hit.highlight);
}

export const rename: paths["/api/v1/applications/{token}/chats/{chat}"]["patch"]["requestBody"]["content"]["application/json"] = { name: null };
export const location = (h: PostMessage["responses"][201]["headers"]): string => h.Location;
export const replayed = (h: PostMessage["responses"][201]["headers"]): string | undefined => h["Idempotent-Replayed"];

// The document and the SDK's generated types describe the same models.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const same: [
  Same<Message, Sdk.Message>,
  Same<components["schemas"]["Chat"], Sdk.Chat>,
  Same<components["schemas"]["Application"], Sdk.Application>,
  Same<components["schemas"]["SearchHit"], Sdk.SearchHit>,
  Same<MessageInput, Sdk.MessageInput>,
  Same<components["schemas"]["ChatCreateInput"], Sdk.ChatCreateInput>,
  Same<components["schemas"]["ChatUpdateInput"], Sdk.ChatUpdateInput>,
  Same<ApiError, Sdk.ErrorEnvelope>,
] = [true, true, true, true, true, true, true, true];

void postMessage("http://localhost:3000", { token: "x".repeat(32), chat: 1 }, { body: "hello" }, "key-1");
${extra}
`;

  async function tsc(source: string): Promise<{ code: number; output: string }> {
    const file = join(dir, `program-${crypto.randomUUID()}.ts`);
    await writeFile(file, source);
    const proc = Bun.spawn(
      [join(root, "node_modules/.bin/tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler", "--lib", "es2022,dom", file],
      { cwd: dir, stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, output: stdout + stderr };
  }

  test("type-checks a program that uses it with tsc --strict", async () => {
    const { code, output } = await tsc(program());
    expect(output).toBe("");
    expect(code).toBe(0);
  });

  test("catches a wrong request body, a wrong path parameter and a field that does not exist", async () => {
    const [wrongBody, wrongParam, wrongField] = await Promise.all([
      tsc(program(`void postMessage("", { token: "t", chat: 1 }, { text: "hello" });`)),
      tsc(program(`void postMessage("", { token: "t", chat: "1" }, { body: "hello" });`)),
      tsc(program(`export const id = (m: components["schemas"]["Message"]) => m.id;`)),
    ]);
    expect(wrongBody.code).not.toBe(0);
    expect(wrongBody.output).toMatch(/error TS2353: .*'text' does not exist in type/);
    expect(wrongParam.code).not.toBe(0);
    expect(wrongParam.output).toMatch(/error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(wrongField.code).not.toBe(0);
    expect(wrongField.output).toMatch(/error TS2339: Property 'id' does not exist/);
  });
});
