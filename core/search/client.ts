import { Client } from "@elastic/elasticsearch";
import { FetchConnection } from "./fetch-connection.ts";

/** Over the runtime's fetch (./fetch-connection.ts): the client's undici connection fails on Bun. */
export function createElasticsearch(url: string): Client {
  return new Client({ node: url, Connection: FetchConnection, requestTimeout: 10_000, maxRetries: 1 });
}
