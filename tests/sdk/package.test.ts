/**
 * The SDK as a user meets it: built (`npm run build`: ESM by tsc, CommonJS by Bun.build) and packed
 * with `npm pack` in sdk/, installed from the tarball into a fresh folder, a small client
 * type-checked there (strict, declarations included) and run under Node and Bun against the running
 * server, the same from CommonJS (`require` in a .cjs file, a .cts file checked against the CommonJS
 * declarations); and every example of sdk/README.md executed as written.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedStack } from "../support/processes.ts";

const root = join(import.meta.dir, "../..");
const sdk = join(root, "sdk");
const tsc = join(root, "node_modules/.bin/tsc");
let base: string;
let project: string;
let tarball: string;

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}) {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}:\n${out}\n${err}`);
  return out;
}

export const CLIENT = `import { ChatClient, NotFoundError, type ApiResponse, type Message } from "@chat-backend/sdk";
import { baseUrl } from "./config.js";

const client = new ChatClient({ baseUrl, timeout: 10_000, maxRetryAfter: 30 });
const app = await client.applications.create({ name: "from the tarball" });
const chat = await client.chats(app.token).create({ name: "general" });
const messages = client.messages(app.token, chat.number);
const sent: Message = await messages.create({ body: "hello from the tarball" });
const { data: second, response }: { data: Message; response: ApiResponse } = await messages.create({ body: "again" }, { maxRetries: 0 }).withResponse();
const page = await messages.list();
const all: Message[] = await page.toArray();
let notFound = false;
try {
  await messages.get(999);
} catch (error) {
  notFound = error instanceof NotFoundError && error.status === 404;
}
console.log(JSON.stringify({ number: sent.number, count: all.length, notFound, second: [second.number, response.status, page.response.status] }));
`;

/** The same from CommonJS: plain `require` in a .cjs file, no build step, no top-level await. */
export const CJS_CLIENT = `"use strict";
const { ChatClient, NotFoundError, ApiPromise } = require("@chat-backend/sdk");

async function main() {
  const client = new ChatClient({ baseUrl: process.argv[2], timeout: 10000 });
  const created = client.applications.create({ name: "from require" }, { headers: { "x-request-id": "cjs-trace-1" } });
  const { data: app, response } = await created.withResponse();
  const chat = await client.chats(app.token).create({ name: "general" }, { maxRetries: 0 });
  const messages = client.messages(app.token, chat.number);
  const sent = await messages.create({ body: "hello from require" });
  const page = await messages.list();
  let notFound = false;
  try {
    await messages.get(999);
  } catch (error) {
    notFound = error instanceof NotFoundError && error.status === 404;
  }
  console.log(JSON.stringify({
    entry: require.resolve("@chat-backend/sdk"),
    apiPromise: created instanceof ApiPromise && created instanceof Promise,
    status: response.status,
    location: response.headers.get("location") === "/api/v1/applications/" + app.token,
    requestId: response.requestId,
    number: sent.number,
    bodies: page.data.map((m) => m.body),
    notFound,
  }));
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

/** A CommonJS TypeScript file: under "module": "node16" it may only \`require\` CommonJS declarations. */
export const CTS_CLIENT = `import { ChatClient, RateLimitError, type ApiResponse, type Chat, type Page } from "@chat-backend/sdk";

export async function run(baseUrl: string): Promise<number> {
  const client = new ChatClient({ baseUrl, maxRetryAfter: 10 });
  const { data, response }: { data: Chat; response: ApiResponse } = await client.chats("token").create({ name: "x" }, { maxRetries: 1 }).withResponse();
  const page: Page<Chat> = await client.chats("token").list();
  const limited: number | undefined = new RateLimitError(429, "rate_limited", "slow down", undefined, undefined, 3).retryAfter;
  return data.number + response.status + page.response.status + (limited ?? 0);
}
`;

beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
  // The package's own build (what `npm pack` runs first), then the pack itself.
  await run(["bun", "run", "build"], sdk);
  const packDir = mkdtempSync(join(tmpdir(), "sdk-pack-"));
  const packed = JSON.parse(await run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", packDir], sdk)) as { filename: string; files: { path: string }[] }[];
  tarball = join(packDir, packed[0]!.filename);
  const files = packed[0]!.files.map((f) => f.path);
  expect(files.every((p) => /^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(p))).toBe(true);
  for (const entry of ["dist/index.js", "dist/index.d.ts", "dist/cjs/index.cjs", "dist/cjs/index.d.cts", "dist/cjs/response.d.cts"]) expect(files).toContain(entry);

  project = mkdtempSync(join(tmpdir(), "sdk-user-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "sdk-user", private: true, type: "module" }));
  await run(["npm", "install", "--no-audit", "--no-fund", "--offline", tarball], project);
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: [], strict: true, outDir: "out" }, include: ["*.ts"] }),
  );
}, 120_000);

describe("the packed SDK", () => {
  test("installs from its tarball with zero dependencies", () => {
    const installed = JSON.parse(readFileSync(join(project, "node_modules/@chat-backend/sdk/package.json"), "utf8"));
    expect(installed.dependencies ?? {}).toEqual({});
    expect(installed.exports["."]).toEqual({
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/cjs/index.d.cts", default: "./dist/cjs/index.cjs" },
    });
    // One bundled CommonJS file: no import of the ESM files, no require of anything.
    const cjs = readFileSync(join(project, "node_modules/@chat-backend/sdk/dist/cjs/index.cjs"), "utf8");
    expect(cjs).toContain("module.exports");
    expect(cjs).not.toMatch(/\brequire\(|^import |^export /m);
  });

  test("a client type-checks strictly against its declarations and runs under Node and Bun", async () => {
    writeFileSync(join(project, "config.ts"), `export const baseUrl = ${JSON.stringify(base)};\n`);
    writeFileSync(join(project, "client.ts"), CLIENT);
    await run([tsc, "-p", "tsconfig.json"], project);
    const expected = { number: 1, count: 2, notFound: true, second: [2, 201, 200] };
    expect(JSON.parse(await run(["node", "out/client.js"], project))).toEqual(expected);
    expect(JSON.parse(await run(["bun", "client.ts"], project))).toEqual(expected);
  }, 60_000);

  test("CommonJS: require() from a .cjs file under Node and Bun makes real calls; .cts type-checks against the CommonJS declarations", async () => {
    writeFileSync(join(project, "client.cjs"), CJS_CLIENT);
    const expected = {
      entry: join(realpathSync(project), "node_modules/@chat-backend/sdk/dist/cjs/index.cjs"),
      apiPromise: true,
      status: 201,
      location: true,
      requestId: "cjs-trace-1",
      number: 1,
      bodies: ["hello from require"],
      notFound: true,
    };
    expect(JSON.parse(await run(["node", "client.cjs", base], project))).toEqual(expected);
    expect(JSON.parse(await run(["bun", "client.cjs", base], project))).toEqual(expected);

    // "module": "node16" refuses to require ESM declarations (TS1479): this passes only because the
    // `require` condition has its own .d.cts.
    mkdirSync(join(project, "cts"), { recursive: true });
    writeFileSync(join(project, "cts/client.cts"), CTS_CLIENT);
    writeFileSync(
      join(project, "cts/tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "Node16", moduleResolution: "Node16", lib: ["ES2022", "DOM"], types: [], strict: true, noEmit: true }, include: ["*.cts"] }),
    );
    await run([tsc, "-p", "cts/tsconfig.json"], project);
    writeFileSync(join(project, "cts/wrong.cts"), `import { ChatClient } from "@chat-backend/sdk";\nnew ChatClient({ maxRetryAfter: "60" });\n`);
    await expect(run([tsc, "-p", "cts/tsconfig.json"], project)).rejects.toThrow(/maxRetryAfter|string/);
    rmSync(join(project, "cts/wrong.cts"));
  }, 60_000);

  test("a type error in client code is caught by the published types", async () => {
    writeFileSync(join(project, "wrong.ts"), `import { ChatClient } from "@chat-backend/sdk";\nawait new ChatClient().messages("t", 1).create({ text: "no such field" });\n`);
    await expect(run([tsc, "-p", "tsconfig.json", "--noEmit"], project)).rejects.toThrow(/text/);
    writeFileSync(join(project, "wrong.ts"), "export {};\n");
  }, 60_000);

  test("every example of the SDK README runs as written (ESM under Bun, CommonJS under Node)", async () => {
    const readme = readFileSync(join(sdk, "README.md"), "utf8");
    const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("import "));
    expect(examples.length).toBeGreaterThanOrEqual(7);
    expect(examples.some((code) => code.includes(".withResponse()"))).toBe(true);
    for (const [i, code] of examples.entries()) {
      const file = join(project, `example-${i}.ts`);
      writeFileSync(file, code);
      const out = await run(["bun", file], project, { CHAT_API_URL: base });
      expect([i, out.length > 0]).toEqual([i, true]);
    }
    const commonjs = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("require("));
    expect(commonjs.length).toBeGreaterThanOrEqual(1);
    for (const [i, code] of commonjs.entries()) {
      const file = join(project, `example-cjs-${i}.cjs`);
      writeFileSync(file, code);
      const out = await run(["node", file], project, { CHAT_API_URL: base });
      expect([i, out.length > 0]).toEqual([i, true]);
    }
  }, 120_000);
});
