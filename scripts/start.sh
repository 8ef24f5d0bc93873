#!/usr/bin/env bash
# Runs the system. Until the embedded defaults land, this brings up the local
# real stack (Kafka and PostgreSQL, started by infra/stack.sh) and runs the
# command API, the projector and the query API against it in the foreground.
# Ctrl-C stops the programs; the stack keeps running (`./run.sh stack:down`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/stack.sh up
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
PORT="${COMMAND_API_PORT:-8080}" node command-api/src/main.ts & pids+=($!)
PORT="${PROJECTOR_PORT:-8082}" node projector/src/main.ts & pids+=($!)
PORT="${QUERY_API_PORT:-8081}" node query-api/src/main.ts & pids+=($!)
echo "[start] command API  http://127.0.0.1:${COMMAND_API_PORT:-8080}  (POST /user_tags)" >&2
echo "[start] query API    http://127.0.0.1:${QUERY_API_PORT:-8081}  (/user_profiles, /aggregates)" >&2
echo "[start] projector    http://127.0.0.1:${PROJECTOR_PORT:-8082}  (/health, /ready, /metrics)" >&2
wait -n
