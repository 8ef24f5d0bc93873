// The cluster's members as the drills see them: their pids (the files cluster.sh and replicas.ts keep
// in .cluster/run/), signals, which broker leads most partitions, which is the KRaft controller, which
// Patroni node and etcd member lead, and the restart of a member through cluster.sh.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { type Ports, repo } from '../configs.ts';
import { clusterDir, runDir, TAG_TOPIC } from '../replicas.ts';

const run = promisify(execFile);

/** The local cluster's Kafka brokers, `kafka-1` to `kafka-3` (infra/cluster/cluster.sh). */
export const KAFKA_NODES = [1, 2, 3] as const;

/** The pid recorded for a member (`kafka-1`, `pg-2`, `command-api-1`, …), undefined when none. */
export function pidOf(name: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(runDir, `${name}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to a member's recorded process; throws when it is not running. */
export function signalMember(name: string, signal: NodeJS.Signals): number {
  const pid = pidOf(name);
  if (pid === undefined || !isAlive(pid)) throw new Error(`${name} is not running (no live pid in ${runDir}/${name}.pid)`);
  process.kill(pid, signal);
  return pid;
}

/** The postmaster of a Patroni node (the first line of its data folder's postmaster.pid). */
export function postmasterPid(pgName: string): number {
  const text = readFileSync(join(clusterDir, pgName, 'data', 'postmaster.pid'), 'utf8');
  return Number(text.split('\n')[0]);
}

/** `cluster.sh start <member>`: starts a stopped member and waits until it is back. */
export async function startMember(name: string): Promise<void> {
  await run('bash', [join(repo, 'infra/cluster/cluster.sh'), 'start', name], {
    env: { ...process.env, CLUSTER_DIR: clusterDir },
    maxBuffer: 1 << 24,
  });
}

/** The broker (`kafka-N`) that leads most partitions of the tag topic. */
export async function busiestLeader(admin: kafkajs.Admin): Promise<string> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [TAG_TOPIC] });
  const counts = new Map<number, number>();
  for (const p of topics[0]?.partitions ?? []) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  const [node] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [1];
  return `kafka-${node}`;
}

/**
 * The broker that is the active KRaft controller now (`kafka-N`): the one
 * that became it at the highest epoch, as the brokers' logs say (kafkajs
 * cannot ask the quorum, and in KRaft the controller id a client is told is
 * any broker). Undefined when no log says so.
 */
export function activeController(): string | undefined {
  let newest: { node: string; epoch: number } | undefined;
  for (const n of KAFKA_NODES) {
    let text: string;
    try {
      text = readFileSync(join(clusterDir, `kafka-${n}`, 'server.log'), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/\[QuorumController id=(\d+)\] Becoming the active controller at epoch (\d+)/g)) {
      const epoch = Number(m[2]);
      if (newest === undefined || epoch > newest.epoch) newest = { node: `kafka-${m[1]}`, epoch };
    }
  }
  return newest?.node;
}

/** Partitions of the tag topic whose in-sync replicas are fewer than the replicas (0 when healthy). */
export async function underReplicated(admin: kafkajs.Admin): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [TAG_TOPIC] });
  return (topics[0]?.partitions ?? []).filter((p) => p.isr.length < p.replicas.length).length;
}

interface PatroniMember {
  readonly name: string;
  readonly role: string;
  readonly state: string;
}

/** Patroni's view of the cluster (asked of whichever node answers). */
export async function patroniMembers(ports: Ports): Promise<PatroniMember[]> {
  for (const key of ['PATRONI_1_PORT', 'PATRONI_2_PORT']) {
    try {
      const res = await fetch(`http://127.0.0.1:${ports[key]}/cluster`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return ((await res.json()) as { members: PatroniMember[] }).members;
    } catch {
      // the other node may answer
    }
  }
  return [];
}

export async function patroniLeader(ports: Ports): Promise<string | undefined> {
  return (await patroniMembers(ports)).find((m) => m.role === 'leader' && m.state === 'running')?.name;
}

/** The etcd member (`etcd-N`) that is the Raft leader. */
export async function etcdLeader(ports: Ports): Promise<string> {
  for (const i of [1, 2, 3]) {
    try {
      const res = await fetch(`http://127.0.0.1:${ports[`ETCD_${i}_PORT`]}/v3/maintenance/status`, {
        method: 'POST',
        body: '{}',
        signal: AbortSignal.timeout(2000),
      });
      const status = (await res.json()) as { header: { member_id: string }; leader: string };
      if (status.header.member_id === status.leader) return `etcd-${i}`;
    } catch {
      // ask the next one
    }
  }
  return 'etcd-1';
}

/** A single-broker Kafka of its own (infra/kafka/kafka.sh) with a `user-tags` topic, for the wrong-cluster mistake. */
export async function startOtherKafka(ports: Ports): Promise<{ port: number; stop(): Promise<void> }> {
  const port = ports.KAFKA_OTHER_PORT as number;
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CTRL_PORT: String(ports.KAFKA_OTHER_CTRL_PORT),
    KAFKA_DATA_DIR: join(clusterDir, 'kafka-other'),
    KAFKA_NODE_ID: '1',
    KAFKA_QUORUM_VOTERS: `1@127.0.0.1:${ports.KAFKA_OTHER_CTRL_PORT}`,
    KAFKA_INTERNAL_RF: '1',
    KAFKA_MIN_ISR: '1',
    KAFKA_HEAP: '256m',
  };
  const script = join(repo, 'infra/kafka/kafka.sh');
  await run('bash', [script, 'start'], { env, maxBuffer: 1 << 24 });
  const admin = new kafkajs.Kafka({ clientId: 'drills-other', brokers: [`127.0.0.1:${port}`], logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  if (!(await admin.listTopics()).includes('user-tags')) {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'user-tags', numPartitions: 12, replicationFactor: 1 }] });
  }
  await admin.disconnect();
  return {
    port,
    stop: async () => {
      await run('bash', [script, 'stop'], { env, maxBuffer: 1 << 24 });
    },
  };
}
