import { afterAll } from "bun:test";
import { killAll } from "./support/processes.ts";

/**
 * Preloaded by bun test (bunfig.toml). Points every test at the test database, Redis db and index
 * (test:all migrates them first) unless the environment already says otherwise.
 */
const defaults: Record<string, string> = {
  DATABASE_URL: "mysql://chat:chat@127.0.0.1:3306/chat_test",
  REDIS_URL: "redis://127.0.0.1:6379/1",
  ELASTICSEARCH_URL: "http://127.0.0.1:9200",
  SEARCH_INDEX: "messages_test",
  SEARCH_REFRESH_INTERVAL: "200ms",
  STREAM_SHARDS: "4",
  ADMIN_API_KEY: "test-admin-key",
  LOG_LEVEL: "warn",
  WORKER_BLOCK_MS: "200",
  WORKER_CLAIM_IDLE_MS: "2000",
  WORKER_TRIM_INTERVAL_MS: "1000",
  WORKER_RETRY_BASE_MS: "50",
  WORKER_RETRY_MAX_MS: "1000",
  // Long: a periodic reconcile would race the tests that check counts and the CLI's reconcile.
  WORKER_RECONCILE_INTERVAL_MS: "3600000",
  // Webhook receivers in the tests listen on loopback (SPEC §5.7 allows it with this switch).
  WEBHOOK_ALLOW_PRIVATE_URLS: "true",
  WEBHOOK_POLL_MS: "100",
  // Retries within seconds rather than minutes.
  WEBHOOK_RETRY_SCHEDULE: "1,1,1",
};
for (const [key, value] of Object.entries(defaults)) process.env[key] ??= value;

// One teardown for the whole run: no API or worker process may outlive the tests.
afterAll(killAll);
