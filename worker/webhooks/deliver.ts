/**
 * One delivery attempt (SPEC §5.7): the URL checked again after DNS resolution (an endpoint's host
 * may have started resolving to a private address since it was created), a signed POST, no
 * redirects followed, and a 2xx within the timeout as the only success. Never throws.
 */
import { redact } from "../../core/log.ts";
import type { RegisteredEndpoint } from "../../core/webhooks/registry.ts";
import { assertPublicUrl, parseWebhookUrl } from "../../core/webhooks/url-guard.ts";
import { signatureHeaders } from "./signature.ts";

export type AttemptResult = { ok: true; status: number } | { ok: false; reason: string };

export async function deliver(endpoint: RegisteredEndpoint, id: string, body: string, o: { timeoutMs: number; allowPrivate: boolean }): Promise<AttemptResult> {
  try {
    const url = parseWebhookUrl(endpoint.url);
    await assertPublicUrl(url, o.allowPrivate);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "chat-backend-webhooks/1.0", ...signatureHeaders(endpoint.secret, id, body) },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    // The answer's body is not needed: drop it rather than read what an endpoint may stream forever.
    await response.body?.cancel().catch(() => {});
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, reason: `answered ${response.status}` };
  } catch (error) {
    const e = error as Error;
    if (e?.name === "TimeoutError" || e?.name === "AbortError") return { ok: false, reason: `no answer within ${o.timeoutMs} ms` };
    return { ok: false, reason: redact(`${e?.name ?? "Error"}: ${e?.message ?? String(error)}`, 200) };
  }
}
