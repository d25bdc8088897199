/** Small helpers for talking to the API in tests. */
export type Json = Record<string, any>;

export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === "string" || body instanceof FormData || body instanceof URLSearchParams || body instanceof Uint8Array) {
      init.body = body as BodyInit;
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] ??= "application/json";
    }
  }
  const response = await fetch(`${base}/api/v1${path}`, init);
  const text = await response.text();
  let json: Json | undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: response.status, headers: response.headers, json: json as Json, text };
}

/** Asserts the SPEC §3.5 envelope and returns its code. */
export function errorCode(res: { json: Json; text: string }): string {
  const error = res.json?.error;
  if (!error || typeof error.code !== "string" || typeof error.message !== "string") {
    throw new Error(`not an error envelope: ${res.text}`);
  }
  return error.code;
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = "condition", pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await Bun.sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}
