/**
 * The web client (web/, SPEC §5.8) bundled by Bun.build when the API process starts, and kept in
 * memory: index.html and its script and stylesheet under content-hashed names. Nothing is written to
 * disk, so there is no build artefact to commit or to go stale, and every process serves what its
 * own checkout holds. `@chat-backend/sdk` is resolved by web/tsconfig.json, which Bun.build reads.
 */
import { basename, join } from "node:path";

/** One file of the page: its bytes, its content type, and whether its name changes with its content. */
export type WebAsset = { body: Uint8Array<ArrayBuffer>; type: string; hashed: boolean };
/** URL path (`/` or `/assets/<name>`) → file. */
export type WebClient = Map<string, WebAsset>;

export const ASSETS_PATH = "/assets/";

export async function buildWebClient(): Promise<WebClient> {
  const result = await Bun.build({
    entrypoints: [join(import.meta.dir, "../../../web/index.html")],
    target: "browser",
    minify: true,
    sourcemap: "none",
    publicPath: ASSETS_PATH,
    throw: false,
  });
  if (!result.success) throw new AggregateError(result.logs, `the web client did not build: ${result.logs.map((log) => log.message).join("; ")}`);
  const client: WebClient = new Map();
  for (const output of result.outputs) {
    const page = output.type.startsWith("text/html");
    const body = new Uint8Array(await output.arrayBuffer());
    client.set(page ? "/" : `${ASSETS_PATH}${basename(output.path)}`, { body, type: output.type, hashed: !page });
  }
  if (!client.has("/")) throw new Error("the web client did not build: no index.html in the output");
  return client;
}
