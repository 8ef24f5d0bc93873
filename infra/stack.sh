#!/usr/bin/env bash
# The local real stack: a single-node Kafka (KRaft) and PostgreSQL, with the
# project's topic, role and database. Idempotent: `up` on a running stack only
# checks it.
#
#   stack.sh up | down | status
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

up() {
  bash "$here/kafka/kafka.sh" start
  bash "$here/postgres/pg.sh" start
  (cd "$repo" && node command-api/src/bin/ensure-topic.ts)
  echo "[stack] Kafka 127.0.0.1:${KAFKA_PORT:-9092}, PostgreSQL $(bash "$here/postgres/pg.sh" url)" >&2
}

down() {
  bash "$here/kafka/kafka.sh" stop
  bash "$here/postgres/pg.sh" stop
}

status() {
  local rc=0
  printf 'kafka: '; bash "$here/kafka/kafka.sh" status || rc=1
  printf 'postgres: '; bash "$here/postgres/pg.sh" status || rc=1
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
