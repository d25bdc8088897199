/**
 * The methods served at a path, asked of the router itself (for a 405's Allow and for CORS
 * preflights). The most specific match wins: …/messages/search (two parameters) shadows
 * …/messages/:message (three), as the router does for one method.
 */
import type { AnyElysia } from "elysia";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "WS"];

type Router = {
  static: Record<string, Record<string, unknown>>;
  http: { find(method: string, path: string): { params?: Record<string, string> } | null };
};

export function allowedMethods(app: AnyElysia, path: string): string[] {
  const router = app.router as unknown as Router;
  const params = new Map<string, number>();
  // Routes answer with and without a trailing slash.
  for (const p of new Set([path, path.endsWith("/") ? path.slice(0, -1) : `${path}/`])) {
    for (const method of Object.keys(router.static[p] ?? {})) params.set(method, 0);
    for (const method of METHODS) {
      const hit = router.http.find(method, p);
      if (hit && !params.has(method)) params.set(method, Object.keys(hit.params ?? {}).length);
    }
  }
  const fewest = Math.min(...params.values());
  return [...params].filter(([, n]) => n === fewest).map(([method]) => method);
}
