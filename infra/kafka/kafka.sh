#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, combined broker+controller) on 127.0.0.1,
# run from the broker jars on Maven Central. No containers, no downloads of
# tarballs: Maven resolves the pinned version into a cache once.
#
#   kafka.sh fetch | start | stop | status | wait
#
# Environment (all optional):
#   KAFKA_PORT        client port                         (default 9092)
#   KAFKA_CTRL_PORT   controller port                     (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR    log dirs, pid and broker log        (default <repo>/.stack/kafka)
#   KAFKA_CACHE_DIR   where the jars are kept             (default ~/.cache/usertags)
#   KAFKA_HEAP        JVM heap                            (default 512m)
# A node of a multi-node cluster (infra/cluster) also sets:
#   KAFKA_NODE_ID          this node's id                       (default 1)
#   KAFKA_QUORUM_VOTERS    id@host:port,… of the controllers    (default this node alone)
#   KAFKA_CLUSTER_ID       the cluster id every node is formatted with (default a random one)
#   KAFKA_INTERNAL_RF      replication of the internal topics   (default 1)
#   KAFKA_MIN_ISR          min.insync.replicas default          (default 1)
#   KAFKA_BROKER_SESSION_MS   a broker silent this long is fenced  (default 9000, Kafka's)
#   KAFKA_BROKER_HEARTBEAT_MS how often a broker heartbeats        (default 2000, Kafka's)
# `launch` starts without waiting (a node of a quorum cannot be ready alone);
# `wait` then waits for it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CTRL_PORT="${KAFKA_CTRL_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$repo/.stack/kafka}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/usertags}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_NODE_ID="${KAFKA_NODE_ID:-1}"
KAFKA_QUORUM_VOTERS="${KAFKA_QUORUM_VOTERS:-$KAFKA_NODE_ID@127.0.0.1:$KAFKA_CTRL_PORT}"
KAFKA_INTERNAL_RF="${KAFKA_INTERNAL_RF:-1}"
KAFKA_MIN_ISR="${KAFKA_MIN_ISR:-1}"
KAFKA_BROKER_SESSION_MS="${KAFKA_BROKER_SESSION_MS:-9000}"
KAFKA_BROKER_HEARTBEAT_MS="${KAFKA_BROKER_HEARTBEAT_MS:-2000}"
libs="$KAFKA_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
pidfile="$KAFKA_DATA_DIR/kafka.pid"

log() { printf '[kafka] %s\n' "$*" >&2; }

fetch() {
  if [ -f "$libs/.complete" ]; then return; fi
  command -v java >/dev/null || { log "java is required (apt-get install openjdk-17-jre-headless)"; exit 1; }
  if ! command -v mvn >/dev/null; then
    log "installing maven from Debian packages"
    apt-get update -qq && apt-get install -y -qq maven >/dev/null
  fi
  log "resolving Kafka $KAFKA_VERSION from Maven Central into $libs"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

java_cmd() {
  java "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.logs.dir=$KAFKA_DATA_DIR" \
    -cp "$libs/*" "$@"
}

write_config() {
  cat > "$KAFKA_DATA_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_QUORUM_VOTERS
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CTRL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA_DIR/data
# Topics are created by the project (infra/topics), never implicitly.
auto.create.topics.enable=false
num.partitions=4
offsets.topic.replication.factor=$KAFKA_INTERNAL_RF
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=$KAFKA_INTERNAL_RF
transaction.state.log.min.isr=$KAFKA_MIN_ISR
share.coordinator.state.topic.replication.factor=$KAFKA_INTERNAL_RF
share.coordinator.state.topic.min.isr=$KAFKA_MIN_ISR
group.initial.rebalance.delay.ms=0
min.insync.replicas=$KAFKA_MIN_ISR
default.replication.factor=$KAFKA_INTERNAL_RF
unclean.leader.election.enable=false
broker.session.timeout.ms=$KAFKA_BROKER_SESSION_MS
broker.heartbeat.interval.ms=$KAFKA_BROKER_HEARTBEAT_MS
PROPS
}

start() {
  launch
  wait_ready
}

launch() {
  if running; then log "already running (pid $(cat "$pidfile")) on 127.0.0.1:$KAFKA_PORT"; return; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
    log "port $KAFKA_PORT is already in use by another process (another checkout's Kafka?); stop it or set KAFKA_PORT"
    exit 1
  fi
  fetch
  mkdir -p "$KAFKA_DATA_DIR"
  write_config
  if [ ! -f "$KAFKA_DATA_DIR/data/meta.properties" ]; then
    local cluster_id
    cluster_id="${KAFKA_CLUSTER_ID:-$(java_cmd kafka.tools.StorageTool random-uuid)}"
    java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DATA_DIR/server.properties" >&2
  fi
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (data in $KAFKA_DATA_DIR)"
  nohup java -server "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.logs.dir=$KAFKA_DATA_DIR" \
    -cp "$libs/*" kafka.Kafka "$KAFKA_DATA_DIR/server.properties" \
    > "$KAFKA_DATA_DIR/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

# Ready means a client can fetch metadata: the broker has registered with the
# controller and the listener accepts requests, not merely that the port is open.
wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  until grep -q 'Kafka Server started' "$KAFKA_DATA_DIR/stdout.log" "$KAFKA_DATA_DIR/server.log" 2>/dev/null \
      && (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; do
    if ! running; then log "Kafka exited during start; last lines:"; tail -30 "$KAFKA_DATA_DIR/stdout.log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then log "Kafka did not become ready in time"; exit 1; fi
    sleep 0.5
  done
  log "ready (pid $(cat "$pidfile"))"
}

stop() {
  if ! running; then log "not running"; rm -f "$pidfile"; return; fi
  local pid; pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then log "forcing stop"; kill -9 "$pid"; fi
  rm -f "$pidfile"
  log "stopped"
}

status() { if running; then echo "running pid $(cat "$pidfile") port $KAFKA_PORT"; else echo "stopped"; return 1; fi; }

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  launch) launch ;;
  stop) stop ;;
  status) status ;;
  wait) wait_ready ;;
  *) echo "usage: $0 fetch|start|launch|stop|status|wait" >&2; exit 2 ;;
esac
