import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';

/** The broker the test stack runs (infra/stack.sh). */
export const TEST_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

function client(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: 'test-reader', brokers: [...brokers], logLevel: logLevel.NOTHING });
}

/** Runs `work` with a connected admin client, and disconnects it afterwards. */
export async function withAdmin<T>(brokers: readonly string[], work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

export function createTopic(
  topic: string,
  partitions = 4,
  brokers: readonly string[] = TEST_BROKERS,
  config: Readonly<Record<string, string>> = {},
): Promise<void> {
  const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
  return withAdmin(brokers, async (admin) => {
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries }] });
    } catch (error) {
      // kafkajs's own wait for leaders gives up at once when the broker has not yet heard of the new
      // topic from the controller (UNKNOWN_TOPIC_OR_PARTITION), which a busy machine often shows: the
      // topic is made, and the loop below waits through that.
      if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
    }
    // Leaders in the metadata, and each of them answering for its partition (a broker may name itself
    // leader a moment before it serves the partition: NOT_LEADER_FOR_PARTITION).
    for (let attempt = 0; ; attempt++) {
      try {
        const [found] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
        if (found !== undefined && found.partitions.length === partitions && found.partitions.every((p) => p.leader >= 0)) {
          await admin.fetchTopicOffsets(topic);
          return;
        }
      } catch (error) {
        if (attempt >= 100) throw error;
      }
      if (attempt >= 100) throw new Error(`topic ${topic} has no leader for every partition after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

export function deleteTopic(topic: string, brokers: readonly string[] = TEST_BROKERS): Promise<void> {
  return withAdmin(brokers, async (admin) => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  });
}

/** How many records the topic holds, from its partitions' end offsets. */
export function countRecords(topic: string, brokers: readonly string[] = TEST_BROKERS): Promise<number> {
  return withAdmin(brokers, async (admin) =>
    (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
  );
}

/**
 * Reads every record of `topic` from the beginning with a fresh consumer group,
 * until the end offsets seen at the start are reached.
 */
export async function readTopic(topic: string, brokers: readonly string[] = TEST_BROKERS, timeoutMs = 30_000): Promise<ReadRecord[]> {
  const kafka = client(brokers);
  const ends = await withAdmin(brokers, (admin) => admin.fetchTopicOffsets(topic));
  const remaining = new Map(ends.filter((p) => Number(p.high) > Number(p.low)).map((p) => [p.partition, Number(p.high)]));
  const records: ReadRecord[] = [];
  if (remaining.size === 0) return records;

  const consumer = kafka.consumer({ groupId: uniqueName('test-reader'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}: ${records.length} records so far`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          records.push({ partition, offset: message.offset, key: String(message.key), value: message.value as Buffer, headers });
          const end = remaining.get(partition);
          if (end !== undefined && Number(message.offset) + 1 >= end) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/**
 * The partition the Java client (and Kafka's own tools) would choose for a
 * key: murmur2 of the key's UTF-8 bytes, made positive, modulo the count.
 * Written out here so the test does not trust the code it checks.
 */
export function javaPartition(key: string, partitions: number): number {
  const data = Buffer.from(key, 'utf8');
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ data.length;
  const length4 = data.length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4] as number) | ((data[i4 + 1] as number) << 8) | ((data[i4 + 2] as number) << 16) | ((data[i4 + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = data.length & 3;
  const base = data.length & ~3;
  if (rest === 3) h ^= (data[base + 2] as number) << 16;
  if (rest >= 2) h ^= (data[base + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[base] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return (h & 0x7fffffff) % partitions;
}
