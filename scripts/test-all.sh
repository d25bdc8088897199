#!/usr/bin/env bash
# `bun run test:all`: everything the tests need on a fresh machine, then the tests.
# dependencies → services (+ MariaDB replica, chromium) → empty test database/index/Redis db → migrate → tsc → bun test
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${TEST_DATABASE_URL:-mysql://chat:chat@127.0.0.1:3306/chat_test}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/1}"
export SEARCH_INDEX="${TEST_SEARCH_INDEX:-messages_test}"
export SEARCH_REFRESH_INTERVAL="${SEARCH_REFRESH_INTERVAL:-200ms}"

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "dependencies"
bun install --frozen-lockfile
step "services"
bun run services
# A MariaDB read replica of the test database, for tests/production/read-replica.test.ts (DATABASE_READ_URL).
bun run services replica
# Debian's chromium, headless, for tests/browser (the web client at / in a real browser).
bun run services browser
step "reset test state"
bun scripts/test-reset.ts
step "migrate"
bun run migrate
step "typecheck"
bun run typecheck
step "tests"
bun test --timeout 120000 "$@"

# The suites that matter again, on a local Redis Cluster of 3 masters and 3 replicas (SPEC §4.6),
# with two API processes and two workers: numbers under concurrency, read-your-writes, idempotency,
# live events across processes, search, a worker killed mid-batch, counters re-seeded after an
# eviction or a flush, /metrics and the CLI (dlq) reading every master, webhook deliveries.
if [ "$#" -eq 0 ]; then
  step "redis cluster"
  bun run services cluster
  export REDIS_CLUSTER_NODES="127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"
  export TEST_WORKERS=2
  bun scripts/test-reset.ts
  bun run migrate
  step "tests on the redis cluster"
  bun test --timeout 120000 tests/http/chats.test.ts tests/http/messages.test.ts tests/http/applications.test.ts \
    tests/production/read-your-writes.test.ts tests/production/idempotency.test.ts tests/production/events.test.ts tests/production/wait-replicas.test.ts \
    tests/production/metrics.test.ts tests/search tests/worker/faults.test.ts tests/worker/cli.test.ts tests/webhooks tests/sdk/webhooks.test.ts
  bun run services cluster stop
fi
step "done"
