/**
 * The SQL text of the rows the MySQL sink writes, built directly: numbers and times are ours (whole
 * numbers checked by parseEvent, times formatted here), so only the text needs mysql2's escaping. Per
 * message that costs about a third of passing the values as parameters, which escapes each one by type.
 */
import { escape } from "mysql2/promise";
import type { ChatEvent, MessageEvent } from "../../core/events.ts";

// The last time formatted: a batch's creates come a dozen or more to the millisecond, and a Date
// and its toISOString cost more than the rest of a row's text.
let lastMs = Number.NaN;
let lastLiteral = "";

/** A DATETIME(3) literal for a UTC time in epoch milliseconds, as mysql2 writes one with `timezone: "Z"`. */
export function datetimeLiteral(ms: number | null): string {
  if (ms === null) return "NULL";
  if (ms === lastMs) return lastLiteral;
  const iso = new Date(ms).toISOString(); // throws RangeError for a time no Date holds: the entry is dead-lettered
  lastLiteral = `'${iso.slice(0, 10)} ${iso.slice(11, 23)}'`;
  lastMs = ms;
  return lastLiteral;
}

/** `(application_id, chat_number, number, body, version, deleted_at, created_at, updated_at)` */
export function messageRow(e: MessageEvent): string {
  // An unchanged updated time is the literal just made for the created time (datetimeLiteral's last).
  const created = datetimeLiteral(e.createdAt);
  const updated = datetimeLiteral(e.updatedAt);
  return `(${e.appId},${e.chat},${e.number},${escape(e.body)},${e.version},${datetimeLiteral(e.deletedAt)},${created},${updated})`;
}

/** `(application_id, number, name, messages_count, version, deleted_at, created_at, updated_at)` */
export function chatRow(e: ChatEvent): string {
  return `(${e.appId},${e.chat},${e.name === null ? "NULL" : escape(e.name)},0,${e.version},${datetimeLiteral(e.deletedAt)},${datetimeLiteral(e.createdAt)},${datetimeLiteral(e.updatedAt)})`;
}
