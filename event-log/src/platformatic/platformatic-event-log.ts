import {
  Admin,
  compatibilityPartitioner,
  findErrorBy,
  type MessageToProduce,
  ProduceAcks,
  Producer,
  type ProducerOptions,
  stringSerializer,
} from '@platformatic/kafka';
import { ContractError, type LogRecord, PartlyAppended } from '@usertags/contracts';
import { type Logger, lazyConnection, sleep, sparedConnection } from '@usertags/runtime';
import { shuffledBrokers, tagTopicConfig } from '../kafka/kafka-client.ts';
import type { KafkaEventLog, KafkaEventLogConfig } from '../kafka/kafka-event-log.ts';

type TagProducer = Producer<string, Buffer, string, string>;
type TagMessage = MessageToProduce<string, Buffer, string, string>;

/**
 * The event log over @platformatic/kafka: the same guarantees as the kafkajs
 * adapter (`createKafkaEventLog`) — an idempotent producer with acks = all,
 * records keyed by cookie and partitioned like the Java client, connections
 * made lazily and again after a failure — without the kafkajs patch.
 *
 * What the library does with a failed request, read in its source (2.12.1,
 * `clients/producer/producer.js`), and what follows here:
 *
 * - `idempotent: true` forces acks = all and one request in flight per
 *   connection, so a partition never has two batches outstanding. A batch's
 *   sequence numbers are taken before it is sent, and its retries (a timeout,
 *   a broken connection, a retryable broker error) resend it with the same
 *   producer id and numbers: the broker writes it once.
 * - When a send still fails, the library drops the producer id and every
 *   sequence number, and the next send asks for a new id. Nothing sent later
 *   can be taken for a duplicate of a batch that was written without an
 *   answer — the danger that made the kafkajs adapter retire a failed
 *   producer — so reusing the producer would be safe. It is retired all the
 *   same, for availability: its next send would first have to get a new id
 *   from the controller, which during a fault can take many seconds, while a
 *   spare already holds one (as in the kafkajs adapter, two are kept).
 * - The library cannot resend a failed batch under its old id afterwards, so
 *   records whose request timed out or lost its connection stay in doubt:
 *   they are answered LOG_UNAVAILABLE (not stored, as far as the server can
 *   know; a client's retry may store one twice — at-least-once). There is no
 *   `AppendInDoubt` here. What the library does report as written — the
 *   requests to brokers that answered, and the partitions a broker wrote in a
 *   request it refused for others — is answered `PartlyAppended`.
 * - Its default partitioner does `murmur2(key) >>> 0`, which differs from the
 *   Java client's `murmur2(key) & 0x7fffffff` for a partition count that is
 *   not a power of two; `compatibilityPartitioner` is the Java one.
 */
export function createPlatformaticEventLog(config: KafkaEventLogConfig, logger: Logger): KafkaEventLog {
  // A new random broker order for every client, so a hung broker is not every new producer's seed (see shuffledBrokers).
  const brokers = shuffledBrokers(config.brokers);
  const clientOptions = {
    clientId: config.clientId,
    connectTimeout: Math.min(config.requestTimeoutMs, 3000),
    // Bounds one request (the client gives up and closes its connection) and, as the produce
    // request's timeout, how long the leader waits for the in-sync replicas.
    requestTimeout: config.requestTimeoutMs,
    timeout: config.requestTimeoutMs,
    // Few, quick retries, as in the kafkajs adapter: a tag that cannot be appended soon is answered 503
    // and its client retries. (An idempotent producer with fewer than two retries would retry forever.)
    retries: 2,
    retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(500, 100 * 2 ** (attempt - 1)),
  };

  let closed = false;
  let producersMade = 0;
  const producers = sparedConnection(async () => {
    const made = ++producersMade;
    const options: ProducerOptions<string, Buffer, string, string> = {
      ...clientOptions,
      bootstrapBrokers: brokers(),
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: (message, key) => compatibilityPartitioner(message as never, key),
      // Keys and headers are strings; values are already encoded.
      serializers: { key: stringSerializer, headerKey: stringSerializer, headerValue: stringSerializer },
    };
    const p: TagProducer = new Producer(options);
    try {
      // Gets the producer id now, while the cluster answers, rather than with the first batch.
      await p.initIdempotentProducer({});
    } catch (error) {
      void p.close(true).catch(() => {});
      throw error;
    }
    logger.debug('producer ready', { producer: made, producerId: String(p.producerId) });
    return p;
  }, 2);

  let admin: Admin | undefined;
  const adminConnection = lazyConnection(async () => {
    admin = new Admin({ ...clientOptions, bootstrapBrokers: brokers(), retries: 1 });
    return admin;
  });

  function unavailable(error: unknown): ContractError {
    return new ContractError('LOG_UNAVAILABLE', `the event log is unavailable (${reason(error)}); the tag was not stored`, {
      cause: error,
    });
  }

  /** The partition a record goes to, as the producer's partitioner chose it; undefined without the topic's metadata. */
  function partitionOf(p: TagProducer, key: string): number | undefined {
    const count = p.currentMetadata?.topics.get(config.topic)?.partitionsCount;
    return count === undefined ? undefined : compatibilityPartitioner(undefined as never, Buffer.from(key)) % count;
  }

  return {
    async append(records: readonly LogRecord[]) {
      if (closed) throw new ContractError('SHUTTING_DOWN', 'the event log is closed');
      const messages: TagMessage[] = records.map((r) => ({
        topic: config.topic,
        key: r.key,
        value: r.value,
        headers: r.headers as Record<string, string>,
      }));
      const producer = producers.get();
      let p: TagProducer;
      try {
        p = await producer;
      } catch (error) {
        throw unavailable(error);
      }
      try {
        await p.send({ messages });
      } catch (error) {
        if (producers.peek() === producer) producers.forget();
        void p.close(true).catch(() => {});
        const refused = unavailable(error);
        logger.warn('append failed', { records: records.length, reason: reason(error) });
        const written = writtenPartitions(error, config.topic);
        if (written.size > 0) {
          const stored = records.map((r) => {
            const partition = partitionOf(p, r.key);
            return partition !== undefined && written.has(partition);
          });
          const count = stored.filter(Boolean).length;
          if (count > 0) {
            throw new PartlyAppended(stored, `${refused.message} (${count} of ${records.length} records in the batch were stored)`, {
              cause: error,
            });
          }
        }
        throw refused;
      }
    },

    async checkReady() {
      try {
        const a = await adminConnection.get();
        // forceUpdate: asked of a broker now, not answered from the client's cache.
        await a.metadata({ topics: [config.topic], forceUpdate: true });
      } catch (error) {
        throw unavailable(error);
      }
    },

    async ensureTopic() {
      const a = await adminConnection.get();
      if ((await a.listTopics()).includes(config.topic)) return;
      try {
        await a.createTopics({
          topics: [{ topic: config.topic, partitions: config.partitions, replicas: config.replicationFactor }],
          configs: tagTopicConfig(config.replicationFactor),
        });
      } catch (error) {
        // Another worker process of the API made it first.
        if (findErrorBy(error as Error, 'apiId', 'TOPIC_ALREADY_EXISTS') === null) throw error;
        return;
      }
      // Unlike kafkajs, the library does not wait for the new partitions' leaders; the first appends would fail without them.
      for (let attempt = 0; attempt < 50; attempt++) {
        const topic = (await a.metadata({ topics: [config.topic], forceUpdate: true })).topics.get(config.topic);
        if (topic !== undefined && topic.partitions.length === topic.partitionsCount && topic.partitions.every((p) => p.leader >= 0)) break;
        await sleep(100);
      }
      logger.info('created topic', { topic: config.topic, partitions: config.partitions, replication: config.replicationFactor });
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...producers.release().map(async (p) => (await p).close(true)), admin?.close()]);
    },
  };
}

interface ProduceResponse {
  readonly responses?: ReadonlyArray<{ name?: string; partitionResponses?: ReadonlyArray<{ index: number; errorCode: number }> }>;
}

/**
 * The partitions of `topic` whose batch a failed send made durable, from what the library hands back:
 * `produced.offsets` for the brokers that answered without an error, and for a broker that refused some
 * partitions of a request, the partitions its answer (kept on the error, in any attempt) wrote. A retry
 * resends the same batches with the same sequence numbers, so a partition written by any attempt holds
 * the batch once.
 */
function writtenPartitions(error: unknown, topic: string): Set<number> {
  const written = new Set<number>();
  const produced = (error as { produced?: { offsets?: ReadonlyArray<{ topic: string; partition: number }> } }).produced;
  for (const o of produced?.offsets ?? []) if (o.topic === topic) written.add(o.partition);
  const visit = (e: unknown, depth: number): void => {
    if (typeof e !== 'object' || e === null || depth > 8) return;
    const response = (e as { response?: ProduceResponse }).response;
    for (const t of response?.responses ?? []) {
      if (t.name !== topic) continue;
      for (const p of t.partitionResponses ?? []) if (p.errorCode === 0) written.add(p.index);
    }
    for (const inner of (e as { errors?: unknown[] }).errors ?? []) visit(inner, depth + 1);
  };
  visit(error, 0);
  return written;
}

/**
 * A readable reason: the library wraps failures in layers ("Producing messages failed." around
 * "produce failed 3 times." around each attempt's error), so the innermost distinct messages are named.
 */
function reason(error: unknown): string {
  const leaves = new Set<string>();
  const visit = (e: unknown, depth: number): void => {
    const inner = (e as { errors?: unknown[] } | null)?.errors;
    if (Array.isArray(inner) && inner.length > 0 && depth < 8) {
      for (const i of inner) visit(i, depth + 1);
      return;
    }
    leaves.add(e instanceof Error ? e.message : String(e));
  };
  visit(error, 0);
  const all = [...leaves];
  return all.length <= 3 ? all.join('; ') : `${all.slice(0, 3).join('; ')}; …`;
}
