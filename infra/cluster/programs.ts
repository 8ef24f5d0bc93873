// The programs on the local cluster (./run.sh cluster:up first): the replicas
// of replicas.ts, in the foreground like scripts/start.ts. Ctrl-C (or
// SIGTERM) stops every replica; if one exits, the others are stopped too.
// Logs in .cluster/logs/<replica>.log.
//
//   node infra/cluster/programs.ts
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPorts } from './configs.ts';
import { clusterEnv, logDir, replicaList, runDir, spawnReplica, waitReady } from './replicas.ts';

const ports = readPorts();
const host = process.env.PUBLIC_HOST ?? '127.0.0.1';
const env = clusterEnv();
const replicas = replicaList(ports);

mkdirSync(runDir, { recursive: true });
writeFileSync(join(runDir, 'programs.pid'), `${process.pid}\n`);

const children: ChildProcess[] = [];
let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const done = () => {
    for (const replica of replicas) rmSync(join(runDir, `${replica.name}.pid`), { force: true });
    rmSync(join(runDir, 'programs.pid'), { force: true });
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
  const child = spawnReplica(replica, env);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(
        `[cluster] ${replica.name} exited (${signal ?? code}); stopping the others (see ${logDir}/${replica.name}.log)\n`,
      );
      stopAll(code === 0 ? 1 : (code ?? 1));
    }
  });
  children.push(child);
}

const started = Date.now();
const pending = await waitReady(replicas, 120_000, () => stopping);
if (!stopping && pending.length > 0) {
  process.stderr.write(`[cluster] not ready after 120 s: ${pending.map((r) => r.name).join(', ')}\n`);
  stopAll(1);
}
if (!stopping) {
  const profiles = env.AEROSPIKE_HOSTS ? `Aerospike ${env.AEROSPIKE_HOSTS}` : `embedded store ${env.PROFILE_STORE_PATH}`;
  process.stderr.write(
    [
      `[cluster] every replica is ready (${((Date.now() - started) / 1000).toFixed(1)} s); profiles: ${profiles}; logs in ${logDir}`,
      `[cluster] command API  http://${host}:${ports.HAPROXY_COMMAND_API_PORT}  (POST /user_tags; HAProxy over :${ports.COMMAND_API_1_PORT}, :${ports.COMMAND_API_2_PORT})`,
      `[cluster] query API    http://${host}:${ports.HAPROXY_QUERY_API_PORT}  (/user_profiles/{cookie}, /aggregates; HAProxy over :${ports.QUERY_API_1_PORT}, :${ports.QUERY_API_2_PORT})`,
      `[cluster] projectors   aggregates :${ports.PROJECTOR_AGGREGATES_1_PORT}, :${ports.PROJECTOR_AGGREGATES_2_PORT}; profiles :${ports.PROJECTOR_PROFILES_1_PORT}, :${ports.PROJECTOR_PROFILES_2_PORT}`,
      `[cluster] Prometheus   http://${host}:${ports.PROMETHEUS_PORT}   HAProxy stats http://${host}:${ports.HAPROXY_STATS_PORT}/`,
      '',
    ].join('\n'),
  );
}
