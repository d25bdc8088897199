#!/usr/bin/env bash
# `bun run test:all`: everything the tests need on a fresh machine, then the tests.
# dependencies → services → empty test database/index/Redis db → migrate → tsc → bun test
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
step "reset test state"
bun scripts/test-reset.ts
step "migrate"
bun run migrate
step "typecheck"
bun run typecheck
step "tests"
bun test --timeout 120000 "$@"
step "done"
