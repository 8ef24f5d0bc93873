import { type DeadLetterSink, deadLetterHeaders, type EventSource, type SourceRecord } from '@usertags/contracts';
import { type Logger, lazyConnection } from '@usertags/runtime';
import type { Consumer } from 'kafkajs';
import { createKafkaClient } from './kafka-client.ts';
import { fetchKafkaTopicIdentity } from './kafka-topic-identity.ts';

export interface KafkaSourceConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly groupId: string;
  readonly topic: string;
  /** How long a fetch waits for data when there is none: bounds freshness when traffic is low. */
  readonly maxWaitMs: number;
  /**
   * Bytes a fetch brings per partition (kafkajs defaults to 1 MiB). A projector that is behind applies
   * what one fetch brought in one store write, and bigger writes cost less per event.
   */
  readonly maxBytesPerPartition?: number;
  /**
   * Bytes the broker gathers before it answers a fetch (or `maxWaitMs` passes). Above 1, a projector
   * that keeps up fetches a few times a second instead of once per handful of records.
   */
  readonly minBytes?: number;
  /** How long the group waits for a silent member before moving its partitions. */
  readonly sessionTimeoutMs: number;
}

/** Patient retries: a projector waits out a broker that comes back rather than stopping. */
const READER_RETRY = { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 };
/**
 * How long one request of a reader may go unanswered (kafkajs waits 30 s by
 * default). A broker that hangs without closing its connections (the
 * broker-pause drill) held the profile projection's heartbeat to its group
 * coordinator for those 30 s; with 5 s the reader gives up, asks another broker
 * where the coordinator and the leaders are now, and goes on once the hung one
 * has been fenced. Fetches wait at most FETCH_MAX_WAIT_MS on the broker, far less.
 */
const READER_REQUEST_TIMEOUT_MS = 5000;

/** The kafkajs client of a reader or a dead-letter sink: patient retries, and no request left unanswered longer than 5 s. */
function readerClient(config: { brokers: readonly string[]; clientId: string }, logger: Logger) {
  return createKafkaClient({
    brokers: config.brokers,
    clientId: config.clientId,
    retry: READER_RETRY,
    requestTimeoutMs: READER_REQUEST_TIMEOUT_MS,
    logger,
  });
}

/**
 * A kafkajs consumer group over one topic. Offsets are not auto-committed:
 * the projector commits them (as a hint) after its store has made them
 * durable; the store's own offsets are the truth.
 */
export function createKafkaEventSource(config: KafkaSourceConfig, logger: Logger): EventSource & { assigned(): ReadonlySet<number> } {
  const kafka = readerClient(config, logger);
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    maxWaitTimeInMs: config.maxWaitMs,
    ...(config.minBytes === undefined ? {} : { minBytes: config.minBytes }),
    ...(config.maxBytesPerPartition === undefined
      ? {}
      : { maxBytesPerPartition: config.maxBytesPerPartition, maxBytes: Math.max(10 * 1024 * 1024, 4 * config.maxBytesPerPartition) }),
    sessionTimeout: config.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(config.sessionTimeoutMs / 5)),
  });
  const admin = kafka.admin();
  // While paused, a batch fetched before the pause is not handed over (it is fetched again on resume).
  let paused = false;
  // kafkajs pauses only a consumer that runs; a pause asked for earlier is applied once it does.
  let started = false;
  // The partitions of the topic the group gave this reader at its last join.
  let assignment: ReadonlySet<number> = new Set();
  const adminConnection = lazyConnection(() => admin.connect());

  return {
    async start(handler, options = {}) {
      await consumer.connect();
      await consumer.subscribe({ topic: config.topic, fromBeginning: true });
      const startFrom = options.startFrom;
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        assignment = new Set(payload.memberAssignment[config.topic] ?? []);
        if (startFrom === undefined) return;
        // On every assignment, move each partition to the projection's own stored position.
        for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
          for (const partition of partitions) {
            const offset = startFrom(topic, partition);
            if (offset !== undefined) consumer.seek({ topic, partition, offset: offset.toString() });
          }
        }
      });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!isRunning() || isStale() || paused || batch.messages.length === 0) return;
          const records: SourceRecord[] = batch.messages.map((m) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(v);
            return { offset: BigInt(m.offset), key: m.key === null ? null : m.key.toString(), value: m.value, headers };
          });
          await handler({ topic: batch.topic, partition: batch.partition, records, heartbeat });
          resolveOffset(batch.lastOffset());
          await heartbeat();
        },
      });
      started = true;
      if (paused) consumer.pause([{ topic: config.topic }]);
    },

    assigned() {
      return assignment;
    },

    seek(topic, partition, offset) {
      consumer.seek({ topic, partition, offset: offset.toString() });
    },

    async commit(topic, progress) {
      await consumer.commitOffsets(progress.map((p) => ({ topic, partition: p.partition, offset: p.nextOffset.toString() })));
    },

    async committed(topic, groupId) {
      await adminConnection.get();
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((offsets?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => [p.partition, BigInt(p.offset)]));
    },

    async describe(topic) {
      const identity = await fetchKafkaTopicIdentity(config.brokers, topic, { clientId: config.clientId });
      if (identity === undefined) return undefined;
      await adminConnection.get();
      const offsets = await admin.fetchTopicOffsets(topic);
      return {
        identity: `kafka:${identity.clusterId}/${identity.topicId}`,
        partitions: new Map(offsets.map((p) => [p.partition, { start: BigInt(p.low), end: BigInt(p.high) }])),
      };
    },

    pause() {
      paused = true;
      if (started) consumer.pause([{ topic: config.topic }]);
    },

    resume() {
      paused = false;
      if (started) consumer.resume([{ topic: config.topic }]);
    },

    async lag(topic, applied) {
      await adminConnection.get();
      const ends = await admin.fetchTopicOffsets(topic);
      return new Map(ends.map((p) => [p.partition, Math.max(0, Number(p.high) - Number(applied.get(p.partition) ?? BigInt(p.low)))]));
    },

    async stop() {
      await consumer.disconnect();
      if (adminConnection.peek() !== undefined) await admin.disconnect().catch(() => {});
    },
  };
}

/** Dead letters go to `<topic>` with the reason and origin in headers, appended durably (acks = all). */
export function createKafkaDeadLetterSink(
  config: { brokers: readonly string[]; clientId: string; topic: string; partitions: number },
  logger: Logger,
): DeadLetterSink {
  const kafka = readerClient(config, logger);
  const connection = lazyConnection(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(config.topic)) {
        await admin.createTopics({
          topics: [{ topic: config.topic, numPartitions: config.partitions, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
          waitForLeaders: true,
        });
      }
    } finally {
      await admin.disconnect();
    }
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await p.connect();
    return p;
  });
  return {
    async park(record, source, reason) {
      const p = await connection.get();
      await p.send({
        topic: config.topic,
        acks: -1,
        messages: [
          {
            key: record.key,
            value: record.value,
            headers: deadLetterHeaders(record, source, reason),
          },
        ],
      });
    },
    async close() {
      await (await connection.peek()?.catch(() => undefined))?.disconnect();
    },
  };
}
