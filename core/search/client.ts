import { Client, HttpConnection } from "@elastic/elasticsearch";

/** Bun needs the node:http connection: the default undici one fails there. */
export function createElasticsearch(url: string): Client {
  return new Client({ node: url, Connection: HttpConnection, requestTimeout: 10_000, maxRetries: 1 });
}
