/**
 * An Elasticsearch client connection over the runtime's own `fetch` (keep-alive pooled, native).
 * The client's node:http connection works on Bun but costs about a third of a search's API CPU in
 * its socket writes; undici's does not work on Bun at all. Same contract as the client's own
 * connections: resolves with status, headers and body for any HTTP answer, rejects with the
 * transport's TimeoutError, RequestAbortedError or ConnectionError otherwise.
 */
import { BaseConnection, errors } from "@elastic/elasticsearch";

type Params = Parameters<BaseConnection["request"]>[0];
type Options = Parameters<BaseConnection["request"]>[1] & { asStream?: boolean };

export class FetchConnection extends BaseConnection {
  override async request(params: Params, options: Options): Promise<any> {
    const url = new URL(this.url);
    url.pathname = joinPath(url.pathname, params.path);
    if (params.querystring) url.search = url.search ? `${url.search}&${params.querystring}` : `?${params.querystring}`;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...this.headers, ...params.headers })) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : String(value);

    const timeoutMs = options.timeout ?? this.timeout;
    const controller = new AbortController();
    let timedOut = false;
    const timer = timeoutMs ? setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs) : undefined;
    const onAbort = () => controller.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await fetch(url, { method: params.method, headers, body: params.body as BodyInit | null | undefined, signal: controller.signal });
      const responseHeaders: Record<string, string> = {};
      // fetch has already decompressed the body: the encoding no longer describes it.
      response.headers.forEach((value, name) => name !== "content-encoding" && (responseHeaders[name] = value));
      if (options.asStream) return { body: response.body, statusCode: response.status, headers: responseHeaders };
      const binary = /^(application\/(vnd\.)?(cbor|smile|mapbox-vector-tile|vnd\.apache\.arrow\.stream))/.test(responseHeaders["content-type"] ?? "");
      const body = binary ? Buffer.from(await response.arrayBuffer()) : await response.text();
      if (options.maxResponseSize !== undefined && body.length > options.maxResponseSize) {
        throw new errors.RequestAbortedError(`The content length (${body.length}) is bigger than the maximum allowed string (${options.maxResponseSize})`);
      }
      return { body, statusCode: response.status, headers: responseHeaders };
    } catch (error) {
      if (error instanceof errors.ElasticsearchClientError) throw error;
      if (timedOut) throw new errors.TimeoutError("Request timed out");
      if (options.signal?.aborted) throw new errors.RequestAbortedError("Request aborted");
      throw new errors.ConnectionError((error as Error)?.message ?? String(error));
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** fetch pools its connections itself: nothing to close here. */
  override async close(): Promise<void> {}
}

const joinPath = (base: string, path: string) => (base.endsWith("/") ? base.slice(0, -1) : base) + path;
