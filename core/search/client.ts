import { Client } from "@elastic/elasticsearch";
import { FetchConnection } from "./fetch-connection.ts";

/**
 * Over the runtime's fetch (./fetch-connection.ts): the client's undici connection fails on Bun.
 * Requests time out after 10 s by default: the API answers 503 rather than hang, and the worker
 * retries. An offline command (the CLI's reindex) may wait longer.
 */
export function createElasticsearch(url: string, requestTimeoutMs = 10_000): Client {
  return new Client({ node: url, Connection: FetchConnection, requestTimeout: requestTimeoutMs, maxRetries: 1 });
}
