/**
 * The SDK as a user meets it: `npm pack` in sdk/, installed from the tarball into a fresh folder,
 * a small client type-checked there (strict, declarations included) and run under Node and Bun
 * against the running server; and every example of sdk/README.md executed as written.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
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

export const CLIENT = `import { ChatClient, NotFoundError, type Message } from "@chat-backend/sdk";
import { baseUrl } from "./config.js";

const client = new ChatClient({ baseUrl, timeout: 10_000 });
const app = await client.applications.create({ name: "from the tarball" });
const chat = await client.chats(app.token).create({ name: "general" });
const messages = client.messages(app.token, chat.number);
const sent: Message = await messages.create({ body: "hello from the tarball" });
const all: Message[] = await (await messages.list()).toArray();
let notFound = false;
try {
  await messages.get(999);
} catch (error) {
  notFound = error instanceof NotFoundError && error.status === 404;
}
console.log(JSON.stringify({ number: sent.number, count: all.length, notFound }));
`;

beforeAll(async () => {
  base = (await sharedStack()).apis[0]!.url;
  await run([tsc, "-p", "tsconfig.json"], sdk);
  const packDir = mkdtempSync(join(tmpdir(), "sdk-pack-"));
  const packed = JSON.parse(await run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", packDir], sdk)) as { filename: string; files: { path: string }[] }[];
  tarball = join(packDir, packed[0]!.filename);
  expect(packed[0]!.files.map((f) => f.path).every((p) => /^(dist\/|README\.md$|LICENSE$|package\.json$)/.test(p))).toBe(true);

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
    expect(installed.exports["."].types).toBe("./dist/index.d.ts");
  });

  test("a client type-checks strictly against its declarations and runs under Node and Bun", async () => {
    writeFileSync(join(project, "config.ts"), `export const baseUrl = ${JSON.stringify(base)};\n`);
    writeFileSync(join(project, "client.ts"), CLIENT);
    await run([tsc, "-p", "tsconfig.json"], project);
    const expected = { number: 1, count: 1, notFound: true };
    expect(JSON.parse(await run(["node", "out/client.js"], project))).toEqual(expected);
    expect(JSON.parse(await run(["bun", "client.ts"], project))).toEqual(expected);
  }, 60_000);

  test("a type error in client code is caught by the published types", async () => {
    writeFileSync(join(project, "wrong.ts"), `import { ChatClient } from "@chat-backend/sdk";\nawait new ChatClient().messages("t", 1).create({ text: "no such field" });\n`);
    await expect(run([tsc, "-p", "tsconfig.json", "--noEmit"], project)).rejects.toThrow(/text/);
    writeFileSync(join(project, "wrong.ts"), "export {};\n");
  }, 60_000);

  test("every example of the SDK README runs as written", async () => {
    const readme = readFileSync(join(sdk, "README.md"), "utf8");
    const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((code) => code.includes("import "));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    for (const [i, code] of examples.entries()) {
      const file = join(project, `example-${i}.ts`);
      writeFileSync(file, code);
      const out = await run(["bun", file], project, { CHAT_API_URL: base });
      expect([i, out.length > 0]).toEqual([i, true]);
    }
  }, 120_000);
});
