// The local cluster's topics, as docker/swarm/stateful.yaml's `topics` job
// makes them, but on three brokers: replication 3, min.insync.replicas 2 (a
// write acknowledged with acks=all is on at least two brokers, and ingest
// stays up while one broker is down).
//
//   node infra/cluster/topics.ts ensure   create them if missing, fix min.insync.replicas, check replication
//   node infra/cluster/topics.ts status   one line: partitions, replication, under-replicated partitions
//
// KAFKA_BROKERS names the brokers; CLUSTER_TOPIC_PARTITIONS the tag topic's partitions (default 12).
import kafkajs from 'kafkajs';

const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

export const TOPICS = [
  { topic: 'user-tags', partitions: Number(process.env.CLUSTER_TOPIC_PARTITIONS ?? 12) },
  { topic: 'user-tags.dead-letter', partitions: 1 },
] as const;
export const REPLICATION = 3;
export const MIN_INSYNC = 2;

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter((b) => b !== '');
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set');
const admin = new Kafka({ clientId: 'cluster-topics', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 5000 }).admin();

async function ensure(): Promise<void> {
  const existing = await admin.listTopics();
  const missing = TOPICS.filter((t) => !existing.includes(t.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: REPLICATION,
        configEntries: [
          { name: 'retention.ms', value: '-1' },
          { name: 'retention.bytes', value: '-1' },
          { name: 'min.insync.replicas', value: String(MIN_INSYNC) },
        ],
      })),
    });
  }
  await admin.alterConfigs({
    validateOnly: false,
    resources: TOPICS.map((t) => ({
      type: ConfigResourceTypes.TOPIC,
      name: t.topic,
      configEntries: [
        { name: 'retention.ms', value: '-1' },
        { name: 'retention.bytes', value: '-1' },
        { name: 'min.insync.replicas', value: String(MIN_INSYNC) },
      ],
    })),
  });
  const { topics } = await admin.fetchTopicMetadata({ topics: TOPICS.map((t) => t.topic) });
  for (const t of topics) {
    const short = t.partitions.filter((p) => p.replicas.length < REPLICATION);
    if (short.length > 0) throw new Error(`${t.name}: ${short.length} partitions have fewer than ${REPLICATION} replicas`);
  }
  process.stderr.write(
    `[cluster] topics ${TOPICS.map((t) => t.topic).join(', ')}: replication ${REPLICATION}, min.insync.replicas ${MIN_INSYNC}\n`,
  );
}

async function status(): Promise<void> {
  const { topics } = await admin.fetchTopicMetadata({ topics: TOPICS.map((t) => t.topic) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: TOPICS.map((t) => ({ type: ConfigResourceTypes.TOPIC, name: t.topic, configNames: ['min.insync.replicas'] })),
  });
  const parts = topics.map((t) => {
    const urp = t.partitions.filter((p) => p.isr.length < p.replicas.length).length;
    const offline = t.partitions.filter((p) => p.leader < 0).length;
    const rf = Math.min(...t.partitions.map((p) => p.replicas.length));
    const minIsr = configs.resources.find((r) => r.resourceName === t.name)?.configEntries[0]?.configValue ?? '?';
    return `${t.name}: ${t.partitions.length} partitions, rf ${rf}, min.insync ${minIsr}, under-replicated ${urp}, offline ${offline}`;
  });
  process.stdout.write(`${parts.join('; ')}\n`);
}

try {
  await admin.connect();
  if (process.argv[2] === 'status') await status();
  else await ensure();
} finally {
  await admin.disconnect();
}
