/**
 * Structured JSON logs, one object per line on stdout.
 *
 * The logger is the one place that keeps secrets out of the logs (SPEC §6.6): whatever a caller
 * passes, every string of a line (message, field, nested value, error message, even field names)
 * goes through `redact`, errors are reduced to name, code, errno, status and a message whose quoted
 * values are masked (never a driver's `sql`, a Redis command's `args` or a search request's `meta`),
 * fields whose name says they hold content or credentials are dropped, and every string is capped.
 * Callers still should not pass secrets; this is the guarantee behind that convention.
 */
type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Logger = {
  [L in Level]: (msg: string, fields?: Record<string, unknown>) => void;
} & { child(fields: Record<string, unknown>): Logger };

export function createLogger(level: Level | "silent" = "info", base: Record<string, unknown> = {}): Logger {
  registerSecret(process.env.ADMIN_API_KEY);
  const threshold = order[level];
  const safeBase = sanitizeFields(base, false);
  const emit = (lvl: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < threshold) return;
    process.stdout.write(formatLine(lvl, msg, fields, safeBase) + "\n");
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

/** One log line (without its newline), every value sanitized. Never throws. */
export function formatLine(level: Level, msg: unknown, fields: Record<string, unknown> | undefined, base: Record<string, unknown> = {}): string {
  try {
    const line = { time: new Date().toISOString(), level, msg: redact(String(msg), MAX_MESSAGE), ...base, ...sanitizeFields(fields ?? {}, level === "error") };
    return JSON.stringify(line);
  } catch {
    return JSON.stringify({ time: new Date().toISOString(), level, msg: "unloggable log line" });
  }
}

/**
 * Logs an uncaught exception or unhandled rejection through `log` (the runtime's own report would
 * print every property of the error: a driver's SQL, a Redis command's arguments) and exits 1,
 * as the runtime would have, once the line is written.
 */
export function exitOnCrash(log: Logger): void {
  const crash = (what: string) => (error: unknown) => {
    log.error(what, { err: error });
    setTimeout(() => process.exit(1), 2000).unref();
    process.stdout.write("", () => process.exit(1));
  };
  process.on("uncaughtException", crash("uncaught exception"));
  process.on("unhandledRejection", crash("unhandled rejection"));
}

// ---------------------------------------------------------------------------------------------
// Redaction: pure functions, exported for tests and for the CLI's plain-text output.

/** Longest string kept in a field (after redaction); longer ones are cut with a marker. */
export const MAX_STRING = 1000;
const MAX_MESSAGE = 300;
const MAX_DEPTH = 4;
const MAX_ITEMS = 50;
const MAX_FRAMES = 8;
const MASK = "***";

const secrets = new Set<string>();
let secretPattern: RegExp | undefined;

/** A literal value (the admin key, …) that is masked wherever it appears in a log line. */
export function registerSecret(value: string | null | undefined): void {
  const secret = value?.trim();
  if (!secret || secrets.has(secret)) return;
  secrets.add(secret);
  const alternatives = [...secrets].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  secretPattern = new RegExp(alternatives.join("|"), "g");
}

/**
 * Masks what is secret in a piece of text, whatever its origin (a path, a Redis key, an error message):
 * - registered literal secrets (the admin key);
 * - credentials in URLs (`mysql://user:password@host`), `Bearer …` / `Basic …`, webhook secrets `whsec_…`;
 * - the segment after `/applications/` (an application token, valid or not);
 * - the segment after a Redis hash tag (`chat:{s1}:<token>:3`, `pending:{s0}:<token>:1`, `events:{s2}:<token>:4`);
 * - query-string values (`?q=<search text>`);
 * - any standalone run of 32 URL-safe characters, the shape of an application token;
 * - quoted values, `'…` and `"…` to the end of the text (database and search errors quote the data
 *   they refused: a message body in "Duplicate entry '…'" or "Incorrect string value: '…'").
 * Then caps the text at `max` characters.
 */
export function redact(text: string, max = MAX_STRING): string {
  let out = text;
  if (secretPattern) out = out.replace(secretPattern, MASK);
  out = out
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, `$1${MASK}@`)
    .replace(/\b(Bearer|Basic)(\s+)[^\s"',;]+/gi, `$1$2${MASK}`)
    .replace(/whsec_[A-Za-z0-9+/=_-]*/g, `whsec_${MASK}`)
    .replace(/(\/applications\/)[^/?#\s"']+/gi, `$1${MASK}`)
    .replace(/(\{s\d+\}:)[^:\s"']+/g, `$1${MASK}`)
    .replace(/([?&][^=&?#\s"']+=)[^&#\s"']*/g, `$1${MASK}`)
    .replace(/(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]{0,31}[A-Z0-9])[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])/g, MASK);
  // Quoted data is not delimited reliably (MySQL does not escape the quotes inside the value it
  // quotes, and a message may have been cut inside one): everything from the first quote is masked.
  const quote = out.search(/(?<![A-Za-z0-9])'|"/);
  if (quote >= 0) out = out.slice(0, quote + 1) + MASK;
  return out.length > max ? `${out.slice(0, max)}…[${out.length - max} more]` : out;
}

/** Application paths with their token masked (`/applications/***`), for request logs and metrics labels. */
export function redactPath(path: string): string {
  return path.replace(/(\/applications\/)[^/?#]+/gi, `$1${MASK}`);
}

/** Field names whose values are content or credentials: dropped whatever they hold. */
const SENSITIVE_KEY = /^(body|bodies|text|content|q|query|sql|sqlmessage|args|arguments|command|meta|headers?|authorization|cookies?|password|passwd|secret|token|fields)$|(token|secret|password|api_?key)$/i;

/** An error as `{ name, code, errno, status, message }` with a scrubbed message, plus its stack frames at level error. */
export function serializeError(error: Error, withStack = false, depth = 0): Record<string, unknown> {
  const e = error as Error & { code?: unknown; errno?: unknown; cause?: unknown; meta?: { statusCode?: unknown }; statusCode?: unknown };
  const out: Record<string, unknown> = { name: redact(String(e.name ?? "Error"), 100) };
  if (typeof e.code === "string" || typeof e.code === "number") out.code = typeof e.code === "string" ? redact(e.code, 100) : e.code;
  if (typeof e.errno === "number") out.errno = e.errno;
  const status = e.meta?.statusCode ?? e.statusCode;
  if (typeof status === "number") out.status = status;
  out.message = redact(String(e.message ?? ""), MAX_MESSAGE);
  if (e.cause instanceof Error && depth < 2) out.cause = serializeError(e.cause, false, depth + 1);
  if (withStack && typeof e.stack === "string") {
    const frames = e.stack.split("\n").filter((l) => /^\s*at /.test(l)).slice(0, MAX_FRAMES).map((l) => redact(l.trim(), 300));
    if (frames.length) out.stack = frames;
  }
  return out;
}

/** A copy of `fields` safe to log: see the file comment. */
export function sanitizeFields(fields: Record<string, unknown>, withStack = false): Record<string, unknown> {
  return sanitize(fields, withStack, 0, new WeakSet()) as Record<string, unknown>;
}

function sanitize(value: unknown, withStack: boolean, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof value) {
    case "string":
      return redact(value);
    case "number":
    case "boolean":
    case "undefined":
      return value;
    case "bigint":
      return value.toString();
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (object instanceof Error) return serializeError(object, withStack);
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return `[${object.byteLength} bytes]`;
  if (seen.has(object)) return "[circular]";
  if (depth >= MAX_DEPTH) return Array.isArray(object) ? "[array]" : "[object]";
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      const items = object.slice(0, MAX_ITEMS).map((item) => sanitize(item, withStack, depth + 1, seen) ?? null);
      if (object.length > MAX_ITEMS) items.push(`[${object.length - MAX_ITEMS} more]`);
      return items;
    }
    const proto = Object.getPrototypeOf(object);
    if (proto !== Object.prototype && proto !== null) return `[${redact(String(proto?.constructor?.name ?? "object"), 100)}]`;
    const out: Record<string, unknown> = {};
    const entries = Object.entries(object);
    for (const [key, item] of entries.slice(0, MAX_ITEMS)) {
      const safeKey = redact(key, 100);
      out[safeKey] = SENSITIVE_KEY.test(key) ? "[redacted]" : sanitize(item, withStack, depth + 1, seen);
    }
    if (entries.length > MAX_ITEMS) out["…"] = `${entries.length - MAX_ITEMS} more fields`;
    return out;
  } finally {
    seen.delete(object);
  }
}
