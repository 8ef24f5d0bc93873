#!/usr/bin/env bash
# Runs the system. Until the embedded defaults land, this brings up the local
# real stack (Kafka and PostgreSQL, started by infra/stack.sh) and runs the
# command API against it in the foreground. Ctrl-C stops the API; the stack
# keeps running (`./run.sh stack:down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/stack.sh up
export PORT="${PORT:-8080}"
echo "[start] command API on http://127.0.0.1:$PORT (POST /user_tags, /health, /ready, /metrics, /openapi.json)" >&2
exec node command-api/src/main.ts
