import { ContractError, type EventAppender, errorMessage, type LogRecord, PartlyAppended } from '@usertags/contracts';
import { type Logger, lazyConnection } from '@usertags/runtime';
import { type Admin, Partitioners, type Producer } from 'kafkajs';
import { createKafkaClient } from './kafka-client.ts';

export interface KafkaEventLogConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topic: string;
  /** Used only when the topic is created here. */
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Bound on one produce request (and on connecting), so an unreachable broker fails an append in bounded time. */
  readonly requestTimeoutMs: number;
}

export interface KafkaEventLog extends EventAppender {
  /** Creates the topic if it is missing: the configured partitions and replication, retention unlimited. */
  ensureTopic(): Promise<void>;
}

/**
 * The production event log: an idempotent kafkajs producer with acks = all,
 * records keyed by cookie and partitioned like the Java client (murmur2).
 * Connections are made lazily and re-made after a failure, so the API starts
 * and recovers without a restart when the broker comes and goes.
 */
export function createKafkaEventLog(config: KafkaEventLogConfig, logger: Logger): KafkaEventLog {
  const kafka = createKafkaClient({
    brokers: config.brokers,
    clientId: config.clientId,
    connectionTimeoutMs: Math.min(config.requestTimeoutMs, 3000),
    requestTimeoutMs: config.requestTimeoutMs,
    // Few, quick retries: a request that cannot be appended soon is answered 503 and the client retries.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    logger,
    level: 'info',
  });

  let producer: Producer | undefined;
  let admin: Admin | undefined;
  let closed = false;

  /** Connects a client; one that failed to connect is let go. */
  async function connected<C extends Producer | Admin>(client: C): Promise<C> {
    try {
      await client.connect();
      return client;
    } catch (error) {
      void client.disconnect().catch(() => {});
      throw error;
    }
  }

  const producerConnection = lazyConnection(() => {
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    });
    return connected(producer);
  });
  const adminConnection = lazyConnection(() => {
    admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 300 } });
    return connected(admin);
  });

  function unavailable(error: unknown): ContractError {
    const reason = errorMessage(error);
    return new ContractError('LOG_UNAVAILABLE', `the event log is unavailable (${reason}); the tag was not stored`, {
      cause: error,
    });
  }

  return {
    async append(records: readonly LogRecord[]) {
      if (closed) throw new ContractError('SHUTTING_DOWN', 'the event log is closed');
      let p: Producer;
      try {
        p = await producerConnection.get();
      } catch (error) {
        throw unavailable(error);
      }
      const messages = records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } }));
      try {
        await p.send({ topic: config.topic, acks: -1, timeout: config.requestTimeoutMs, messages });
      } catch (error) {
        // A producer that failed may hold a stale connection or sequence state; start afresh next time.
        if (producer === p) {
          producerConnection.forget();
          producer = undefined;
          void p.disconnect().catch(() => {});
        }
        // The brokers that answered made their partitions' records durable (patches/kafkajs@2.2.4.patch
        // hands back those message objects); only the others failed.
        const written = (error as { writtenMessages?: ReadonlySet<unknown> }).writtenMessages;
        if (written !== undefined && written.size > 0) {
          const { message } = unavailable(error);
          throw new PartlyAppended(
            messages.map((m) => written.has(m)),
            `${message} (${written.size} of ${messages.length} records in the batch were stored)`,
            { cause: error },
          );
        }
        throw unavailable(error);
      }
    },

    async checkReady() {
      try {
        const a = await adminConnection.get();
        await a.fetchTopicMetadata({ topics: [config.topic] });
      } catch (error) {
        adminConnection.forget();
        throw unavailable(error);
      }
    },

    async ensureTopic() {
      const a = await adminConnection.get();
      const existing = await a.listTopics();
      if (existing.includes(config.topic)) return;
      await a.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: config.topic,
            numPartitions: config.partitions,
            replicationFactor: config.replicationFactor,
            configEntries: [
              // The log is the source of truth: nothing expires.
              { name: 'retention.ms', value: '-1' },
              { name: 'retention.bytes', value: '-1' },
              // With acks=all, a write must reach a majority-like quorum before it is acknowledged.
              { name: 'min.insync.replicas', value: String(Math.max(1, Math.min(2, config.replicationFactor - 1))) },
            ],
          },
        ],
      });
      logger.info('created topic', { topic: config.topic, partitions: config.partitions, replication: config.replicationFactor });
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([producer?.disconnect(), admin?.disconnect()]);
    },
  };
}
