#!/usr/bin/env bash
# The whole suite: static checks, then every test tier against a real Kafka and
# PostgreSQL that this script starts (and stops again if it started them), then
# schemathesis against both APIs (embedded defaults, no Kafka or PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lint and format ==";  pnpm -s lint
echo "== typecheck ==";        pnpm -s typecheck
echo "== import cycles ==";    pnpm -s cycles
echo "== dependency audit =="; bash scripts/audit.sh

started_stack=false
if ! bash infra/stack.sh status >/dev/null 2>&1; then started_stack=true; fi
echo "== stack up =="
bash infra/stack.sh up
if [ "$started_stack" = true ] && [ -z "${KEEP_STACK:-}" ]; then
  trap 'echo "== stack down =="; bash infra/stack.sh down' EXIT
fi

echo "== tests =="
node scripts/run-tests.ts unit int e2e

echo "== API tests (schemathesis) =="
bash scripts/schemathesis.sh
