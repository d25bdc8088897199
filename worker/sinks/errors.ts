/** Which sink failures are outages (retry the batch until the sink is back) rather than bad data. */
const transientCodes = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "PROTOCOL_CONNECTION_LOST",
  "ER_LOCK_DEADLOCK", "ER_LOCK_WAIT_TIMEOUT", "ER_CON_COUNT_ERROR", "ER_SERVER_SHUTDOWN", "ER_QUERY_INTERRUPTED",
]);

export function isOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = String((error as { code?: unknown }).code ?? "");
  if (transientCodes.has(code)) return true;
  const status = Number((error as { meta?: { statusCode?: unknown } }).meta?.statusCode ?? 0);
  if (status === 429 || status >= 500) return true;
  return /ConnectionError|NoLivingConnections|TimeoutError|Connection is closed|Pool is closed|closed state|connect ECONNREFUSED|socket hang up|Stream isn't writeable|max retries per request/i.test(`${error.name} ${error.message}`);
}
