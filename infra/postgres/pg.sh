#!/usr/bin/env bash
# The machine's PostgreSQL (Debian's postgresql-15 cluster "main"), started on
# demand, with the project's role and database.
#
#   pg.sh start | stop | status | url
#
# Environment (all optional):
#   PG_VERSION   Debian cluster version   (default 15)
#   PG_CLUSTER   Debian cluster name      (default main)
#   PG_PORT      port of that cluster     (default 5432)
#   PG_USER / PG_PASSWORD / PG_DATABASE   the project's role and database (default usertags)
set -euo pipefail
PG_VERSION="${PG_VERSION:-15}"
PG_CLUSTER="${PG_CLUSTER:-main}"
PG_PORT="${PG_PORT:-5432}"
PG_USER="${PG_USER:-usertags}"
PG_PASSWORD="${PG_PASSWORD:-usertags}"
PG_DATABASE="${PG_DATABASE:-usertags}"

log() { printf '[postgres] %s\n' "$*" >&2; }

as_postgres() { runuser -u postgres -- "$@"; }
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }

install() {
  if command -v pg_ctlcluster >/dev/null && [ -x "/usr/lib/postgresql/$PG_VERSION/bin/postgres" ]; then return; fi
  log "installing postgresql-$PG_VERSION from Debian packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null
}

# Settings for a write-heavy read model on a machine that has the memory; written
# to the cluster's conf.d, so a change here takes effect on the next start.
tune() {
  local conf="/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d/usertags.conf"
  local want
  want="$(cat <<CONF
# Written by usertags infra/postgres/pg.sh
shared_buffers = '${PG_SHARED_BUFFERS:-2GB}'
max_wal_size = '8GB'
checkpoint_timeout = '15min'
wal_compression = on
CONF
)"
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
    echo "$want" > "$conf"
    if pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
      log "settings changed; restarting cluster $PG_VERSION/$PG_CLUSTER"
      pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart
    fi
  fi
}

start() {
  install
  if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$PG_VERSION/$PG_CLUSTER"; then
    log "creating cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" >/dev/null
  fi
  tune
  if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "starting cluster $PG_VERSION/$PG_CLUSTER"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
  fi
  for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.5; done
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || { log "PostgreSQL did not become ready"; exit 1; }
  # The role may create databases: each test run gets a fresh one of its own.
  psql_admin <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SQL
  if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" ]; then
    psql_admin -c "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_USER\""
  fi
  log "ready at $(url)"
}

stop() {
  if pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop; log "stopped"; else log "not running"; fi
}

status() { pg_isready -h 127.0.0.1 -p "$PG_PORT"; }
url() { echo "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DATABASE"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
