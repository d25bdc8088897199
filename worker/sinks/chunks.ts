/**
 * Splits a batch into runs of at most `maxBytes` (by the caller's estimate) so one statement or one
 * `_bulk` request stays far below the server's limits (MySQL `max_allowed_packet`, 16 MiB by
 * default; Elasticsearch `http.max_content_length`), whatever the batch size: 2,000 bodies of
 * 10,000 four-byte characters would be 80 MB. An item larger than `maxBytes` goes alone.
 */
export function chunksByBytes<T>(items: T[], bytesOf: (item: T) => number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (current.length && size + bytes > maxBytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length) out.push(current);
  return out;
}

/** Bytes a statement or request may carry: a quarter of MySQL's default max_allowed_packet. */
export const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/** Upper bound of a text's UTF-8 size without encoding it (a UTF-16 unit is at most 3 bytes). */
export const utf8Bound = (text: string | null | undefined) => (text ? text.length * 3 : 0);
