import { AppendInDoubt, ContractError, type EventAppender, errorMessage, type LogRecord, PartlyAppended } from '@usertags/contracts';
import { type Logger, lazyConnection, sleep } from '@usertags/runtime';
import { type Admin, type Message, Partitioners, type Producer } from 'kafkajs';
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
  /**
   * How long records in doubt (a request that may have been written failed) are
   * sent again before they are given up as not stored (15 s by default; see
   * `settleInDoubt`).
   */
  readonly inDoubtMs?: number;
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

  const inDoubtMs = config.inDoubtMs ?? 15_000;

  /**
   * Finds out whether records of a failed request were written, by sending
   * exactly them again with the producer that sent them, and nothing else
   * ever: kafkajs rolled that producer's sequence numbers back to the failed
   * request's, so once a leader answers, the broker either writes the records
   * or recognises them as the duplicates they are — stored either way. Tried
   * for `inDoubtMs`; what is still in doubt then is reported not stored (its
   * client may retry, and if the dying leader had stored it after all, the
   * log holds it twice: at-least-once). Resolves with the stored messages and
   * lets the producer go.
   */
  async function settleInDoubt(p: Producer, inDoubt: readonly Message[]): Promise<Set<unknown>> {
    const stored = new Set<unknown>();
    const giveUpAt = performance.now() + inDoubtMs;
    let left: readonly Message[] = inDoubt;
    try {
      while (left.length > 0 && !closed && performance.now() < giveUpAt) {
        try {
          await p.send({ topic: config.topic, acks: -1, timeout: config.requestTimeoutMs, messages: [...left] });
          for (const m of left) stored.add(m);
          left = [];
        } catch (error) {
          for (const m of (error as { writtenMessages?: ReadonlySet<unknown> }).writtenMessages ?? []) stored.add(m);
          left = left.filter((m) => !stored.has(m));
          if (left.length > 0) await sleep(250);
        }
      }
      logger.warn(left.length === 0 ? 'records in doubt were stored' : 'records in doubt given up as not stored', {
        inDoubt: inDoubt.length,
        stored: stored.size,
      });
    } finally {
      void p.disconnect().catch(() => {});
    }
    return stored;
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
        // A producer that failed is not used for anything new: after a request that may have been
        // written, kafkajs has rolled its sequence numbers back, and other records sent under them
        // would be taken by the broker for duplicates of the written ones — acknowledged, not stored.
        if (producer === p) {
          producerConnection.forget();
          producer = undefined;
        }
        // The brokers that answered made their partitions' records durable, and the kafkajs patch
        // (patches/kafkajs@2.2.4.patch) hands back those message objects, and the ones in doubt.
        const sent = error as { writtenMessages?: ReadonlySet<unknown>; inDoubtMessages?: ReadonlySet<unknown> };
        const written = sent.writtenMessages ?? new Set<unknown>();
        const knownStored = messages.map((m) => written.has(m));
        const inDoubt = messages.filter((m) => sent.inDoubtMessages?.has(m) === true);
        const refused = unavailable(error);
        if (inDoubt.length > 0) {
          const settled = settleInDoubt(p, inDoubt).then((stored) => messages.map((m, i) => knownStored[i] === true || stored.has(m)));
          throw new AppendInDoubt(
            knownStored,
            settled,
            `${refused.message} (${inDoubt.length} of ${messages.length} records in the batch were in doubt and not found stored in ${inDoubtMs / 1000} s)`,
            { cause: error },
          );
        }
        void p.disconnect().catch(() => {});
        if (written.size > 0) {
          throw new PartlyAppended(
            knownStored,
            `${refused.message} (${written.size} of ${messages.length} records in the batch were stored)`,
            {
              cause: error,
            },
          );
        }
        throw refused;
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
