/** Structured JSON logs, one object per line on stdout. Never pass secrets (tokens, keys) in fields. */
type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Logger = {
  [L in Level]: (msg: string, fields?: Record<string, unknown>) => void;
} & { child(fields: Record<string, unknown>): Logger };

export function createLogger(level: Level | "silent" = "info", base: Record<string, unknown> = {}): Logger {
  const threshold = order[level];
  const emit = (lvl: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < threshold) return;
    const line = { time: new Date().toISOString(), level: lvl, msg, ...base, ...fields };
    process.stdout.write(JSON.stringify(line, errorReplacer) + "\n");
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (fields) => createLogger(level, { ...base, ...fields }),
  };
}

function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
