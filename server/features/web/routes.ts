/**
 * Serves the web client built at start (build.ts): `/` and `/assets/<hashed name>`. Hidden from the
 * OpenAPI document (they are not API operations). The page gets a Content-Security-Policy that allows
 * only its own script and stylesheet and calls to this origin: no inline script, nothing from elsewhere.
 */
import { Elysia } from "elysia";
import { notFound } from "../../errors.ts";
import { ASSETS_PATH, type WebAsset, type WebClient } from "./build.ts";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  // Every form is handled by the script; none is ever submitted to a server.
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function serve(asset: WebAsset): Response {
  const headers: Record<string, string> = {
    "content-type": asset.type,
    "x-content-type-options": "nosniff",
    // A hashed name changes with its content; the page itself is checked on every load.
    "cache-control": asset.hashed ? "public, max-age=31536000, immutable" : "no-cache",
  };
  if (!asset.hashed) Object.assign(headers, { "content-security-policy": CSP, "referrer-policy": "no-referrer", "x-frame-options": "DENY" });
  return new Response(asset.body, { headers });
}

export function webRoutes(client: WebClient) {
  const page = client.get("/")!;
  return new Elysia({ name: "web" })
    .get("/", () => serve(page), { detail: { hide: true } })
    .get(
      `${ASSETS_PATH}:file`,
      ({ params }) => {
        const asset = client.get(`${ASSETS_PATH}${params.file}`);
        if (!asset) throw notFound("file");
        return serve(asset);
      },
      { detail: { hide: true } },
    );
}
