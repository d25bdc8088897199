/**
 * Bytes per stored message (SPEC §8 growth, the README's capacity plan): the messages table's data
 * and indexes in MySQL (after ANALYZE TABLE, so InnoDB's figures are current) and the primary shards'
 * segment files of the messages index in Elasticsearch (after a refresh and a flush), each divided by the
 * messages stored. Redis holds nothing per persisted message (only counters per chat, and pending
 * writes until persisted: the backlog scenario measures those).
 */
import mysql from "mysql2/promise";
import { addRow } from "./table.ts";

/** The raw figures: MySQL rows, data and index bytes, mean body; Elasticsearch docs and primary store. */
export async function storageBytes(opts: { databaseUrl: string; es: string; index: string }) {
  const conn = await mysql.createConnection({ uri: opts.databaseUrl });
  await conn.query("ANALYZE TABLE messages");
  const [[table]] = (await conn.query(
    "SELECT data_length AS data, index_length AS idx FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'messages'",
  )) as unknown as [{ data: number; idx: number }[]];
  const [[counted]] = (await conn.query("SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(body)), 0) AS bodyBytes FROM messages")) as unknown as [{ n: number; bodyBytes: number }[]];
  const rows = Number(counted!.n);
  const bodyBytes = Number(counted!.bodyBytes);
  await conn.end();

  await fetch(`${opts.es}/${opts.index}/_refresh`, { method: "POST" });
  await fetch(`${opts.es}/${opts.index}/_flush`, { method: "POST" });
  const stats = (await fetch(`${opts.es}/${opts.index}/_stats/docs,store`).then((r) => r.json())) as { _all: { primaries: { docs: { count: number }; store: { size_in_bytes: number } } } };
  const docs = stats._all.primaries.docs.count;
  // The primaries' segment files: _stats caches the store size (index.store.stats_refresh_interval,
  // 10 s) and can report a size from before the drain.
  const esBytes = await esSegmentsBytes(opts.es, opts.index);

  return { rows, docs, mysqlDataBytes: Number(table!.data), mysqlIndexBytes: Number(table!.idx), esStoreBytes: esBytes, meanBodyBytes: bodyBytes / rows };
}

export async function storageFootprint(opts: { databaseUrl: string; es: string; index: string }) {
  const detail = await storageBytes(opts);
  const { rows, docs, esStoreBytes: esBytes, meanBodyBytes: body } = detail;
  const table = { data: detail.mysqlDataBytes, idx: detail.mysqlIndexBytes };
  addRow(`MySQL bytes per message (${Number(rows).toLocaleString("en-US")} rows, mean body ${Math.round(body)} B)`, (Number(table!.data) + Number(table!.idx)) / Number(rows), body, "info", true, "bytes", detail);
  addRow(`Elasticsearch bytes per message (${docs.toLocaleString("en-US")} docs, primaries)`, esBytes / docs, body, "info", true, "bytes", detail);
}

/**
 * Bytes of the primary shards' segment files of an index, summed from `_segments` (computed on each
 * call; `_stats` caches the store size for `index.store.stats_refresh_interval`, 10 s).
 */
export async function esSegmentsBytes(es: string, index: string): Promise<number> {
  type Shard = { routing: { primary: boolean }; segments: Record<string, { size_in_bytes: number }> };
  const answer = (await fetch(`${es}/${index}/_segments`).then((r) => r.json())) as { indices: Record<string, { shards: Record<string, Shard[]> }> };
  let bytes = 0;
  for (const { shards } of Object.values(answer.indices)) {
    for (const copies of Object.values(shards)) for (const copy of copies) if (copy.routing.primary) for (const seg of Object.values(copy.segments)) bytes += seg.size_in_bytes;
  }
  return bytes;
}
