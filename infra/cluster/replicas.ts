// The program replicas of the local cluster, as docker/swarm/stateless.yaml
// runs them: two command-API replicas, two query-API replicas (both behind
// HAProxy), two projector replicas for each projection in the same consumer
// group. Used by programs.ts (start:cluster) and by the fault drills, which
// kill and restart one replica at a time.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Ports, port, readPorts, repo } from './configs.ts';

export const clusterDir = process.env.CLUSTER_DIR ?? join(repo, '.cluster');
export const runDir = join(clusterDir, 'run');
export const logDir = join(clusterDir, 'logs');

export type Program = 'command-api' | 'query-api' | 'projector';

export interface Replica {
  readonly name: string;
  readonly program: Program;
  readonly port: number;
  readonly env: Readonly<Record<string, string>>;
}

/** KAFKA_BROKERS, DATABASE_URL (through HAProxy), the profile store: from the cluster script, the one source. */
export function clusterEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const out = execFileSync('bash', [join(repo, 'infra/cluster/cluster.sh'), 'env'], {
    encoding: 'utf8',
    env: { ...process.env, CLUSTER_DIR: clusterDir },
  });
  for (const line of out.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

export const TAG_TOPIC = 'user-tags';
export const DEAD_LETTER_TOPIC = 'user-tags.dead-letter';

/** The eight replicas, each on its own port of ports.env. */
export function replicaList(ports: Ports = readPorts()): Replica[] {
  const topic = {
    KAFKA_TOPIC: TAG_TOPIC,
    // infra/cluster/topics.ts made the topic (cluster:up); these match it.
    KAFKA_CREATE_TOPIC: 'false',
    KAFKA_TOPIC_PARTITIONS: process.env.CLUSTER_TOPIC_PARTITIONS ?? '12',
    KAFKA_TOPIC_REPLICATION: '3',
  };
  const replicas: Replica[] = [];
  for (const i of [1, 2]) {
    replicas.push(
      { name: `command-api-${i}`, program: 'command-api', port: port(ports, `COMMAND_API_${i}_PORT`), env: topic },
      { name: `query-api-${i}`, program: 'query-api', port: port(ports, `QUERY_API_${i}_PORT`), env: {} },
      {
        name: `projector-aggregates-${i}`,
        program: 'projector',
        port: port(ports, `PROJECTOR_AGGREGATES_${i}_PORT`),
        env: { PROJECTIONS: 'aggregates', AGGREGATES_GROUP_ID: 'projector-aggregates', KAFKA_CLIENT_ID: `projector-aggregates-${i}` },
      },
      {
        name: `projector-profiles-${i}`,
        program: 'projector',
        port: port(ports, `PROJECTOR_PROFILES_${i}_PORT`),
        env: { PROJECTIONS: 'profiles', PROFILES_GROUP_ID: 'projector-profiles', KAFKA_CLIENT_ID: `projector-profiles-${i}` },
      },
    );
  }
  return replicas;
}

/**
 * Starts one replica in the background: log appended to .cluster/logs/<name>.log,
 * pid and port in .cluster/run/. `override` replaces variables of its
 * environment (a drill deploys a replica with a wrong setting this way).
 */
export function spawnReplica(
  replica: Replica,
  env: Readonly<Record<string, string>>,
  override: Readonly<Record<string, string>> = {},
): ChildProcess {
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const out = openSync(join(logDir, `${replica.name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', `./${replica.program}/src/register.ts`, `${replica.program}/src/main.ts`], {
    cwd: repo,
    env: {
      ...process.env,
      ...env,
      ...replica.env,
      PORT: String(replica.port),
      HOST: '127.0.0.1',
      KAFKA_DEAD_LETTER_TOPIC: DEAD_LETTER_TOPIC,
      OTEL_SERVICE_NAME: replica.name,
      // One process per replica, as the drills expect when they kill and restart a replica by its PID.
      ...(replica.program === 'projector' ? {} : { WORKERS: '1' }),
      ...override,
    },
    stdio: ['ignore', out, out],
  });
  writeFileSync(join(runDir, `${replica.name}.pid`), `${child.pid}\n`);
  writeFileSync(join(runDir, `${replica.name}.port`), `${replica.port}\n`);
  return child;
}

/** Whether the replica on `port` answers /ready with 200. */
export async function isReady(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

/** Waits until every replica answers /ready; resolves with those still not ready at the deadline (none: all ready). */
export async function waitReady(replicas: readonly Replica[], timeoutMs: number, stop: () => boolean = () => false): Promise<Replica[]> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...replicas];
  while (pending.length > 0 && !stop() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const answers = await Promise.all(pending.map((r) => isReady(r.port)));
    pending = pending.filter((_, i) => !answers[i]);
  }
  return pending;
}
