#!/usr/bin/env bash
# The reference deployment (docker/swarm/*.yaml) as processes on one machine,
# on loopback: every process its own port (infra/cluster/ports.env) and data
# folder under .cluster/. Installs what is missing from Debian's packages and
# Maven Central, then starts it; `up` on a running cluster only checks it.
#
#   cluster.sh up       Kafka ×3 (KRaft), etcd ×3, Patroni/PostgreSQL ×2 (synchronous),
#                       HAProxy, Aerospike ×2 (if AEROSPIKE_SERVER), Prometheus; topics, role, database
#   cluster.sh down     stops everything it (and start:cluster) started, checks nothing is left
#   cluster.sh status   one line a process; Patroni's leader and sync standby; Kafka's replication
#   cluster.sh env      the programs' environment (KAFKA_BROKERS, DATABASE_URL, …), for `source`
#   cluster.sh start <member>   starts one stopped member (kafka-N, etcd-N, pg-N) and waits until it
#                       is back (the fault drills restart what they killed this way)
#
# Environment (optional): CLUSTER_DIR (default <repo>/.cluster), CLUSTER_KAFKA_HEAP (512m),
# CLUSTER_PG_SYNC_STRICT (false), AEROSPIKE_SERVER (path of an `asd` binary).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
C="${CLUSTER_DIR:-$repo/.cluster}"
run="$C/run"
logs="$C/logs"
# shellcheck source=ports.env
source "$here/ports.env"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
KAFKA_HEAP="${CLUSTER_KAFKA_HEAP:-512m}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

kafka_brokers() { echo "127.0.0.1:$KAFKA_1_PORT,127.0.0.1:$KAFKA_2_PORT,127.0.0.1:$KAFKA_3_PORT"; }
etcd_hosts() { echo "127.0.0.1:$ETCD_1_PORT,127.0.0.1:$ETCD_2_PORT,127.0.0.1:$ETCD_3_PORT"; }

# ---------------------------------------------------------------- installation
ensure_packages() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v patroni >/dev/null || missing+=(patroni)
  /usr/bin/python3 -c 'import psycopg2' 2>/dev/null || missing+=(python3-psycopg2)
  command -v haproxy >/dev/null || missing+=(haproxy)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v curl >/dev/null || missing+=(curl)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  command -v psql >/dev/null || missing+=(postgresql-client-15)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing from Debian packages: ${missing[*]}"
    # Debian starts a service at install; policy-rc.d 101 keeps these from running as the machine's own.
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ $created = 1 ]; then rm -f "$policy"; fi
  fi
  bash "$repo/infra/kafka/kafka.sh" fetch
}

# ---------------------------------------------------------------- processes
# A process of the cluster: .cluster/run/<name>.pid and .port, log in .cluster/logs/<name>.log.
pid_of() { cat "$run/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# spawn <name> <port> <user|-> <command…>: in the background, detached from this shell.
spawn() {
  local name="$1" port="$2" user="$3"; shift 3
  if alive "$name"; then return; fi
  if port_open "$port"; then die "port $port ($name) is already in use by another process"; fi
  local -a as=()
  if [ "$user" != - ]; then as=(setpriv "--reuid=$user" "--regid=$user" --init-groups env "HOME=$(getent passwd "$user" | cut -d: -f6)"); fi
  nohup setsid "${as[@]}" "$@" >> "$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/$name.pid"
  echo "$port" > "$run/$name.port"
}

# wait_for <name> <seconds> <check command…>
wait_for() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then log "$name exited during start; last lines of $logs/$name.log:"; tail -20 "$logs/$name.log" >&2; exit 1; fi
    [ $SECONDS -lt $deadline ] || die "$name is not healthy after ${timeout}s (see $logs/$name.log)"
    sleep 0.5
  done
}

stop_pid() { # stop_pid <name> [seconds]: SIGTERM, then SIGKILL after the grace period
  local name="$1" grace="${2:-30}" pid
  pid="$(pid_of "$name")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 4))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then log "$name: forcing stop"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "$name stopped"
  fi
  rm -f "$run/$name.pid"
}

# ---------------------------------------------------------------- secrets
secrets() {
  if [ ! -f "$C/secrets.env" ]; then
    umask 077
    {
      echo "PG_SUPERUSER_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
      echo "PG_REPLICATION_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
      echo "USERTAGS_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
      echo "KAFKA_CLUSTER_ID=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    } > "$C/secrets.env"
    umask 022
  fi
  # shellcheck disable=SC1091
  source "$C/secrets.env"
}

# ---------------------------------------------------------------- Kafka
kafka_env() { # kafka_env <i>: the environment of infra/kafka/kafka.sh for node i
  local i="$1" port ctrl
  port="KAFKA_${i}_PORT"; ctrl="KAFKA_${i}_CTRL_PORT"
  echo "KAFKA_PORT=${!port} KAFKA_CTRL_PORT=${!ctrl} KAFKA_DATA_DIR=$C/kafka-$i KAFKA_NODE_ID=$i" \
    "KAFKA_QUORUM_VOTERS=1@127.0.0.1:$KAFKA_1_CTRL_PORT,2@127.0.0.1:$KAFKA_2_CTRL_PORT,3@127.0.0.1:$KAFKA_3_CTRL_PORT" \
    "KAFKA_CLUSTER_ID=$KAFKA_CLUSTER_ID KAFKA_INTERNAL_RF=3 KAFKA_MIN_ISR=2 KAFKA_HEAP=$KAFKA_HEAP" \
    "KAFKA_BROKER_SESSION_MS=6000 KAFKA_BROKER_HEARTBEAT_MS=1000"
}
kafka_sh() {
  local i="$1" vars; shift
  vars="$(kafka_env "$i")"
  # shellcheck disable=SC2086
  env $vars bash "$repo/infra/kafka/kafka.sh" "$@"
}

kafka_up() {
  local i
  for i in 1 2 3; do
    kafka_sh "$i" launch
    cp "$C/kafka-$i/kafka.pid" "$run/kafka-$i.pid"
    local port="KAFKA_${i}_PORT"; echo "${!port}" > "$run/kafka-$i.port"
  done
  for i in 1 2 3; do kafka_sh "$i" wait; done
  KAFKA_BROKERS="$(kafka_brokers)" node "$here/topics.ts" ensure
}

# ---------------------------------------------------------------- etcd
etcd_up() {
  local i cluster="etcd-1=http://127.0.0.1:$ETCD_1_PEER_PORT,etcd-2=http://127.0.0.1:$ETCD_2_PEER_PORT,etcd-3=http://127.0.0.1:$ETCD_3_PEER_PORT"
  for i in 1 2 3; do
    local client="ETCD_${i}_PORT" peer="ETCD_${i}_PEER_PORT" state=new
    [ -d "$C/etcd-$i/member" ] && state=existing
    mkdir -p "$C/etcd-$i" && chmod 700 "$C/etcd-$i"
    spawn "etcd-$i" "${!client}" - etcd --name "etcd-$i" --data-dir "$C/etcd-$i" \
      --listen-client-urls "http://127.0.0.1:${!client}" --advertise-client-urls "http://127.0.0.1:${!client}" \
      --listen-peer-urls "http://127.0.0.1:${!peer}" --initial-advertise-peer-urls "http://127.0.0.1:${!peer}" \
      --initial-cluster "$cluster" --initial-cluster-token usertags-patroni --initial-cluster-state "$state"
  done
  for i in 1 2 3; do
    local client="ETCD_${i}_PORT"
    wait_for "etcd-$i" 60 etcd_healthy "${!client}"
  done
  log "etcd: 3 members healthy"
}
etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$1/health" | grep -q '"health":"true"'; }

# ---------------------------------------------------------------- Patroni / PostgreSQL
patroni_config() { # patroni_config <i>
  local i="$1" pg="PG_${1}_PORT" rest="PATRONI_${1}_PORT" dir="$C/pg-$1"
  local strict="${CLUSTER_PG_SYNC_STRICT:-false}"
  mkdir -p "$dir"
  chown postgres:postgres "$dir"; chmod 700 "$dir"
  # The settings of docker/swarm/stateful.yaml's SPILO_CONFIGURATION, plus synchronous replication
  # (docs/deploy.md); memory sized for one machine that runs everything.
  cat > "$dir/patroni.yml" <<YAML
# Written by infra/cluster/cluster.sh
scope: usertags
name: pg-$i
restapi:
  listen: 127.0.0.1:${!rest}
  connect_address: 127.0.0.1:${!rest}
etcd3:
  hosts: $(etcd_hosts)
log:
  level: INFO
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 5
    retry_timeout: 5
    maximum_lag_on_failover: 67108864
    synchronous_mode: true
    synchronous_mode_strict: $strict
    postgresql:
      use_pg_rewind: true
      parameters:
        max_wal_size: 1GB
        checkpoint_timeout: 15min
        wal_compression: "on"
        wal_log_hints: "on"
        max_connections: 200
        shared_buffers: 256MB
        synchronous_commit: "on"
  initdb:
    - encoding: UTF8
    - data-checksums
    - auth-local: peer
    - auth-host: scram-sha-256
postgresql:
  listen: 127.0.0.1:${!pg}
  connect_address: 127.0.0.1:${!pg}
  data_dir: $dir/data
  bin_dir: $PG_BIN
  pgpass: $dir/pgpass
  authentication:
    superuser:
      username: postgres
      password: $PG_SUPERUSER_PASSWORD
    replication:
      username: replicator
      password: $PG_REPLICATION_PASSWORD
    rewind:
      username: postgres
      password: $PG_SUPERUSER_PASSWORD
  parameters:
    unix_socket_directories: $dir
    logging_collector: "off"
  pg_hba:
    - local all all peer
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
YAML
  chown postgres:postgres "$dir/patroni.yml"; chmod 600 "$dir/patroni.yml"
}

patroni_get() { curl -fsS --max-time 2 "http://127.0.0.1:$1$2"; }

patroni_up() {
  local i
  for i in 1 2; do
    local rest="PATRONI_${i}_PORT"
    patroni_config "$i"
    spawn "pg-$i" "${!rest}" postgres patroni "$C/pg-$i/patroni.yml"
  done
  # One of them takes the leader lock and bootstraps; the other clones it and becomes the sync standby.
  local deadline=$((SECONDS + 180))
  until [ "$(pg_sync_standby)" != "" ] && [ "$(pg_leader)" != "" ]; do
    for i in 1 2; do alive "pg-$i" || { tail -20 "$logs/pg-$i.log" >&2; die "pg-$i exited during start"; }; done
    [ $SECONDS -lt $deadline ] || die "Patroni has no leader and sync standby after 180s (see $logs/pg-*.log)"
    sleep 1
  done
  # The timing of failover (the fault drills: a dead primary is replaced within ~20-25 s). bootstrap.dcs
  # applies only when the cluster is first made, so a cluster made with other values is brought to these.
  local rest="PATRONI_1_PORT"
  alive pg-1 || rest="PATRONI_2_PORT"
  curl -fsS --max-time 5 -XPATCH "http://127.0.0.1:${!rest}/config" \
    -d '{"ttl": 20, "loop_wait": 5, "retry_timeout": 5}' >/dev/null || log "Patroni: could not set ttl/loop_wait/retry_timeout"
  log "Patroni: leader $(pg_leader), sync standby $(pg_sync_standby)"
}
pg_members() { patroni_get "$PATRONI_1_PORT" /cluster 2>/dev/null || patroni_get "$PATRONI_2_PORT" /cluster 2>/dev/null || true; }
pg_role() { # pg_role <role…>: the names of the members in one of these roles
  pg_members | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      try { const roles = process.argv.slice(1);
        console.log(JSON.parse(s).members.filter((m) => roles.includes(m.role) && m.state !== "stopped").map((m) => m.name).join(","));
      } catch { console.log(""); } });' "$@"
}
pg_leader() { pg_role leader; }
pg_sync_standby() { pg_role sync_standby; }

pg_bootstrap() { # the programs' role and database, as stateful.yaml's pg-bootstrap job, through HAProxy
  local deadline=$((SECONDS + 60))
  until PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -q -h 127.0.0.1 -p "$HAPROXY_PRIMARY_PORT" -U postgres -d postgres \
      -tAc 'SELECT NOT pg_is_in_recovery()' 2>/dev/null | grep -q t; do
    [ $SECONDS -lt $deadline ] || die "HAProxy :$HAPROXY_PRIMARY_PORT does not reach the primary"
    sleep 0.5
  done
  PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$HAPROXY_PRIMARY_PORT" -U postgres -d postgres \
    -v pw="$USERTAGS_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE usertags LOGIN PASSWORD %L', :'pw')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'usertags') \gexec
SELECT 'CREATE DATABASE usertags OWNER usertags'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'usertags') \gexec
SQL
  log "PostgreSQL: role and database usertags ready through HAProxy :$HAPROXY_PRIMARY_PORT"
}

# ---------------------------------------------------------------- HAProxy, Prometheus
configs() { node "$here/configs.ts" "$C"; }

haproxy_up() {
  haproxy -c -q -f "$C/haproxy/haproxy.cfg"
  spawn haproxy "$HAPROXY_STATS_PORT" - haproxy -W -db -f "$C/haproxy/haproxy.cfg"
  wait_for haproxy 20 curl -fsS --max-time 2 "http://127.0.0.1:$HAPROXY_STATS_PORT/metrics"
}

prometheus_up() {
  mkdir -p "$C/prometheus/data"
  spawn prometheus "$PROMETHEUS_PORT" - prometheus --config.file="$C/prometheus/prometheus.yml" \
    --storage.tsdb.path="$C/prometheus/data" --storage.tsdb.retention.time=2d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  wait_for prometheus 60 curl -fsS --max-time 2 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
}

# ---------------------------------------------------------------- Aerospike
aerospike_up() {
  if [ -z "${AEROSPIKE_SERVER:-}" ]; then
    echo embedded > "$run/aerospike.mode"
    log "Aerospike: AEROSPIKE_SERVER is not set; profiles use the embedded store (.cluster/profiles)"
    return
  fi
  [ -x "$AEROSPIKE_SERVER" ] || die "AEROSPIKE_SERVER=$AEROSPIKE_SERVER is not an executable"
  local i
  for i in 1 2; do
    local svc="AEROSPIKE_${i}_PORT" fab="AEROSPIKE_${i}_FABRIC_PORT" hb="AEROSPIKE_${i}_HEARTBEAT_PORT" info="AEROSPIKE_${i}_INFO_PORT"
    local dir="$C/aerospike-$i"
    mkdir -p "$dir/data" "$dir/work" "$dir/smd"
    # infra/aerospike/aerospike.swarm.conf with loopback ports and local files.
    sed -e "s|^\(\s*\)address any|\1address 127.0.0.1|" \
      -e "/^\s*service {/,/}/ s|port 3000|port ${!svc}|" \
      -e "s|port 3001|port ${!fab}|" -e "s|port 3002|port ${!hb}|" \
      -e "s|mesh-seed-address-port aerospike-1 3002|mesh-seed-address-port 127.0.0.1 $AEROSPIKE_1_HEARTBEAT_PORT|" \
      -e "s|mesh-seed-address-port aerospike-2 3002|mesh-seed-address-port 127.0.0.1 $AEROSPIKE_2_HEARTBEAT_PORT|" \
      -e "s|file /opt/aerospike/data/usertags.dat|file $dir/data/usertags.dat|" -e "s|filesize 16G|filesize 1G|" \
      -e "s|^\tcluster-name usertags|\tcluster-name usertags\n\twork-directory $dir/work\n\tpidfile $dir/asd.pid|" \
      -e "s|^\s*fabric {|\tinfo {\n\t\tport ${!info}\n\t}\n\n&|" \
      "$repo/infra/aerospike/aerospike.swarm.conf" > "$dir/aerospike.conf"
    spawn "aerospike-$i" "${!svc}" - "$AEROSPIKE_SERVER" --foreground --config-file "$dir/aerospike.conf"
  done
  for i in 1 2; do local svc="AEROSPIKE_${i}_PORT"; wait_for "aerospike-$i" 60 port_open "${!svc}"; done
  echo "asd 127.0.0.1:$AEROSPIKE_1_PORT,127.0.0.1:$AEROSPIKE_2_PORT" > "$run/aerospike.mode"
  log "Aerospike: 2 nodes on :$AEROSPIKE_1_PORT, :$AEROSPIKE_2_PORT"
}

# ---------------------------------------------------------------- commands
up() {
  local started=$SECONDS
  mkdir -p "$C" "$run" "$logs"
  chmod 755 "$C"
  ensure_packages
  secrets
  configs
  etcd_up
  patroni_up
  haproxy_up
  pg_bootstrap
  kafka_up
  aerospike_up
  prometheus_up
  log "up in $((SECONDS - started)) s; ./run.sh start:cluster runs the programs, ./run.sh cluster:status shows every process"
}

# The programs' environment: every replica gets these (infra/cluster/programs.ts).
program_env() {
  secrets
  echo "KAFKA_BROKERS=$(kafka_brokers)"
  echo "DATABASE_URL=postgres://usertags:$USERTAGS_DB_PASSWORD@127.0.0.1:$HAPROXY_PRIMARY_PORT/usertags"
  local mode; mode="$(cat "$run/aerospike.mode" 2>/dev/null || echo embedded)"
  if [ "${mode%% *}" = asd ]; then
    echo "AEROSPIKE_HOSTS=${mode#asd }"
    echo "AEROSPIKE_NAMESPACE=usertags"
  else
    echo "PROFILE_STORE_PATH=$C/profiles/profiles.sqlite"
  fi
}

PROGRAMS=(command-api-1 command-api-2 query-api-1 query-api-2 projector-aggregates-1 projector-aggregates-2 projector-profiles-1 projector-profiles-2)
INFRA=(prometheus aerospike-1 aerospike-2 haproxy kafka-1 kafka-2 kafka-3 pg-1 pg-2 etcd-1 etcd-2 etcd-3)

down() {
  [ -d "$run" ] || { log "nothing to stop"; return; }
  secrets
  # start:cluster's supervisor first: it stops its replicas on SIGTERM.
  stop_pid programs 30
  local name
  for name in "${PROGRAMS[@]}"; do stop_pid "$name" 20; done
  stop_pid prometheus
  stop_pid aerospike-1 & stop_pid aerospike-2 & wait
  stop_pid haproxy
  # Kafka: all three at once (the last one alone would wait for a controller quorum that is gone).
  local i
  for i in 1 2 3; do (if [ -f "$C/kafka-$i/kafka.pid" ]; then kafka_sh "$i" stop; fi; rm -f "$run/kafka-$i.pid") & done
  wait
  # Patroni: the standby first, so stopping the leader causes no failover; Patroni stops its PostgreSQL.
  local leader; leader="$(pg_leader)"
  for name in pg-1 pg-2; do [ "$name" = "$leader" ] || stop_pid "$name" 60; done
  for name in pg-1 pg-2; do stop_pid "$name" 60; done
  for name in etcd-1 etcd-2 etcd-3; do stop_pid "$name"; done
  rm -f "$run/aerospike.mode"
  # Nothing of ours may be left: every process whose command line names this cluster's folder.
  local left
  left="$(pgrep -f -- "$C/" || true)"
  if [ -n "$left" ]; then
    log "still running, stopping: $(echo "$left" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -TERM $left 2>/dev/null || true
    sleep 3
    left="$(pgrep -f -- "$C/" || true)"
    # shellcheck disable=SC2086
    if [ -n "$left" ]; then kill -KILL $left 2>/dev/null || true; fi
  fi
  log "down: no process of $C is running"
}

# ---------------------------------------------------------------- status
health() { # health <name> <port>: exit 0 when the process answers as healthy
  local name="$1" port="$2"
  case "$name" in
    etcd-*) etcd_healthy "$port" ;;
    pg-*) patroni_get "$port" /health ;;
    kafka-*) port_open "$port" ;;
    haproxy) curl -fsS --max-time 2 "http://127.0.0.1:$port/metrics" ;;
    prometheus) curl -fsS --max-time 2 "http://127.0.0.1:$port/-/healthy" ;;
    aerospike-*) port_open "$port" ;;
    *) curl -fsS --max-time 2 "http://127.0.0.1:$port/ready" ;;
  esac
}

status() {
  [ -d "$run" ] || { echo "cluster: not set up (./run.sh cluster:up)"; return 1; }
  local rc=0 name pid port state
  for name in etcd-1 etcd-2 etcd-3 pg-1 pg-2 haproxy kafka-1 kafka-2 kafka-3 aerospike-1 aerospike-2 prometheus "${PROGRAMS[@]}"; do
    case "$name" in aerospike-*) [ -f "$run/$name.pid" ] || continue ;; esac
    pid="$(pid_of "$name")"; port="$(cat "$run/$name.port" 2>/dev/null || echo -)"
    if [ -z "$pid" ]; then state=stopped
    elif ! kill -0 "$pid" 2>/dev/null; then state=dead
    elif health "$name" "$port" >/dev/null 2>&1; then state=healthy
    else state=unhealthy
    fi
    case "$name:$state" in *:healthy) ;; command-api-*:stopped | query-api-*:stopped | projector-*:stopped) ;; *) rc=1 ;; esac
    printf '%-24s %-10s port %-6s pid %s\n' "$name" "$state" "$port" "${pid:--}"
  done
  local leader sync
  leader="$(pg_leader)"; sync="$(pg_sync_standby)"
  echo "patroni: leader ${leader:-none}, sync standby ${sync:-none} (synchronous_mode on, strict ${CLUSTER_PG_SYNC_STRICT:-false})"
  [ -n "$leader" ] && [ -n "$sync" ] || rc=1
  printf 'kafka: '
  KAFKA_BROKERS="$(kafka_brokers)" timeout 20 node "$here/topics.ts" status 2>/dev/null || { echo "topics unavailable"; rc=1; }
  local mode; mode="$(cat "$run/aerospike.mode" 2>/dev/null || echo embedded)"
  if [ "${mode%% *}" = asd ]; then echo "profiles: Aerospike, 2 nodes ${mode#asd }"
  else echo "profiles: embedded store $C/profiles/profiles.sqlite (no AEROSPIKE_SERVER: Aerospike not running)"; fi
  if ! alive programs; then echo "programs: not started (./run.sh start:cluster)"; fi
  return $rc
}

start_member() {
  local name="${1:-}"
  mkdir -p "$C" "$run" "$logs"
  secrets
  case "$name" in
    kafka-[123])
      local i="${name#kafka-}"
      kafka_sh "$i" launch
      cp "$C/kafka-$i/kafka.pid" "$run/kafka-$i.pid"
      kafka_sh "$i" wait ;;
    etcd-[123])
      etcd_up ;;
    pg-[12])
      local i="${name#pg-}" rest="PATRONI_${name#pg-}_PORT"
      patroni_config "$i"
      spawn "pg-$i" "${!rest}" postgres patroni "$C/pg-$i/patroni.yml"
      wait_for "pg-$i" 120 patroni_get "${!rest}" /health ;;
    *) die "start: unknown member '$name' (kafka-1..3, etcd-1..3, pg-1..2)" ;;
  esac
  log "$name is running"
}

case "${1:-}" in
  up) up ;;
  start) start_member "${2:-}" ;;
  down) down ;;
  status) status ;;
  env) program_env ;;
  *) echo "usage: $0 up|down|status|env|start <member>" >&2; exit 2 ;;
esac
