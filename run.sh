#!/usr/bin/env bash
# The one entry point: makes sure the pinned toolchain (Node.js 24, pnpm) and the
# workspace's dependencies are present, then runs a root package script.
#
#   ./run.sh start        run the system
#   ./run.sh test         run every test tier (starts real Kafka and Postgres)
#   ./run.sh <script> …   any other root script (stack:up, bench:ingest, lint, …)
set -euo pipefail
cd "$(dirname "$0")"
source scripts/toolchain.sh
ensure_toolchain
ensure_dependencies
exec pnpm run "$@"
