// The programs on the local cluster (./run.sh cluster:up first), as
// docker/swarm/stateless.yaml runs them: two command-API replicas, two
// query-API replicas (both behind HAProxy), two projector replicas for each
// projection in the same consumer group. In the foreground, like
// scripts/start.ts: Ctrl-C (or SIGTERM) stops every replica; if one exits,
// the others are stopped too. Logs in .cluster/logs/<replica>.log.
//
//   node infra/cluster/programs.ts
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPorts, repo } from './configs.ts';

const dir = process.env.CLUSTER_DIR ?? join(repo, '.cluster');
const run = join(dir, 'run');
const logs = join(dir, 'logs');
const ports = readPorts();
const host = process.env.PUBLIC_HOST ?? '127.0.0.1';

// KAFKA_BROKERS, DATABASE_URL (through HAProxy), the profile store: from the cluster script, the one source.
const clusterEnv: Record<string, string> = {};
for (const line of execFileSync('bash', [join(repo, 'infra/cluster/cluster.sh'), 'env'], { encoding: 'utf8' }).split('\n')) {
  const at = line.indexOf('=');
  if (at > 0) clusterEnv[line.slice(0, at)] = line.slice(at + 1);
}

const topic = {
  KAFKA_TOPIC: 'user-tags',
  // infra/cluster/topics.ts made the topic (cluster:up); these match it.
  KAFKA_CREATE_TOPIC: 'false',
  KAFKA_TOPIC_PARTITIONS: process.env.CLUSTER_TOPIC_PARTITIONS ?? '12',
  KAFKA_TOPIC_REPLICATION: '3',
};

interface Replica {
  name: string;
  program: 'command-api' | 'query-api' | 'projector';
  port: number;
  env: Record<string, string>;
}
const replicas: Replica[] = [];
for (const i of [1, 2]) {
  replicas.push(
    { name: `command-api-${i}`, program: 'command-api', port: ports[`COMMAND_API_${i}_PORT`] as number, env: topic },
    { name: `query-api-${i}`, program: 'query-api', port: ports[`QUERY_API_${i}_PORT`] as number, env: {} },
    {
      name: `projector-aggregates-${i}`,
      program: 'projector',
      port: ports[`PROJECTOR_AGGREGATES_${i}_PORT`] as number,
      env: { PROJECTIONS: 'aggregates', AGGREGATES_GROUP_ID: 'projector-aggregates', KAFKA_CLIENT_ID: `projector-aggregates-${i}` },
    },
    {
      name: `projector-profiles-${i}`,
      program: 'projector',
      port: ports[`PROJECTOR_PROFILES_${i}_PORT`] as number,
      env: { PROJECTIONS: 'profiles', PROFILES_GROUP_ID: 'projector-profiles', KAFKA_CLIENT_ID: `projector-profiles-${i}` },
    },
  );
}

mkdirSync(run, { recursive: true });
mkdirSync(logs, { recursive: true });
writeFileSync(join(run, 'programs.pid'), `${process.pid}\n`);

const children: ChildProcess[] = [];
let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const done = () => {
    for (const replica of replicas) rmSync(join(run, `${replica.name}.pid`), { force: true });
    rmSync(join(run, 'programs.pid'), { force: true });
    process.exit(code);
  };
  let left = children.filter((c) => c.exitCode === null && c.signalCode === null).length;
  if (left === 0) done();
  for (const child of children) {
    child.once('exit', () => {
      left--;
      if (left === 0) done();
    });
  }
  setTimeout(done, 25_000).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

for (const replica of replicas) {
  const out = openSync(join(logs, `${replica.name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', `./${replica.program}/src/register.ts`, `${replica.program}/src/main.ts`], {
    cwd: repo,
    env: {
      ...process.env,
      ...clusterEnv,
      ...replica.env,
      PORT: String(replica.port),
      HOST: '127.0.0.1',
      KAFKA_DEAD_LETTER_TOPIC: 'user-tags.dead-letter',
      OTEL_SERVICE_NAME: replica.name,
    },
    stdio: ['ignore', out, out],
  });
  writeFileSync(join(run, `${replica.name}.pid`), `${child.pid}\n`);
  writeFileSync(join(run, `${replica.name}.port`), `${replica.port}\n`);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`[cluster] ${replica.name} exited (${signal ?? code}); stopping the others (see ${logs}/${replica.name}.log)\n`);
      stopAll(code === 0 ? 1 : (code ?? 1));
    }
  });
  children.push(child);
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

const started = Date.now();
const deadline = started + 120_000;
let pending = replicas;
while (pending.length > 0 && !stopping) {
  if (Date.now() > deadline) {
    process.stderr.write(`[cluster] not ready after 120 s: ${pending.map((r) => r.name).join(', ')}\n`);
    stopAll(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
  const answers = await Promise.all(pending.map((r) => ready(r.port)));
  pending = pending.filter((_, i) => !answers[i]);
}
if (!stopping) {
  const profiles = clusterEnv.AEROSPIKE_HOSTS
    ? `Aerospike ${clusterEnv.AEROSPIKE_HOSTS}`
    : `embedded store ${clusterEnv.PROFILE_STORE_PATH}`;
  process.stderr.write(
    [
      `[cluster] every replica is ready (${((Date.now() - started) / 1000).toFixed(1)} s); profiles: ${profiles}; logs in ${logs}`,
      `[cluster] command API  http://${host}:${ports.HAPROXY_COMMAND_API_PORT}  (POST /user_tags; HAProxy over :${ports.COMMAND_API_1_PORT}, :${ports.COMMAND_API_2_PORT})`,
      `[cluster] query API    http://${host}:${ports.HAPROXY_QUERY_API_PORT}  (/user_profiles/{cookie}, /aggregates; HAProxy over :${ports.QUERY_API_1_PORT}, :${ports.QUERY_API_2_PORT})`,
      `[cluster] projectors   aggregates :${ports.PROJECTOR_AGGREGATES_1_PORT}, :${ports.PROJECTOR_AGGREGATES_2_PORT}; profiles :${ports.PROJECTOR_PROFILES_1_PORT}, :${ports.PROJECTOR_PROFILES_2_PORT}`,
      `[cluster] Prometheus   http://${host}:${ports.PROMETHEUS_PORT}   HAProxy stats http://${host}:${ports.HAPROXY_STATS_PORT}/`,
      '',
    ].join('\n'),
  );
}
