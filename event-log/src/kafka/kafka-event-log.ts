import { AppendInDoubt, ContractError, type EventAppender, errorMessage, type LogRecord, PartlyAppended } from '@usertags/contracts';
import { type Logger, lazyConnection, sleep, sparedConnection } from '@usertags/runtime';
import type { Admin, ICustomPartitioner, Message, PartitionMetadata, Producer } from 'kafkajs';
import { javaCompatiblePartitioner } from './java-partitioner.ts';
import { createKafkaClient, tagTopicConfig } from './kafka-client.ts';

/** Why a record for a partition in doubt is refused (see `held` in `createKafkaEventLog`). */
const HELD_REFUSAL =
  "the event log is unavailable (the tag's partition is finding out whether earlier tags were stored); the tag was not stored";

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
 *
 * A producer that failed is never used for new records (see `append`), so a
 * failure costs a producer id. A new id comes from the cluster's controller,
 * which may be the node that just failed, and a cluster moving its controller
 * can take many seconds to hand one out; so two spare producers, their ids
 * already allocated, are kept ready, one is taken at once, and the next
 * spare is made in the background. Two, because a fault cost a second
 * producer within seconds of the first in a broker-pause drill (a stale
 * leader after the partitions in doubt were settled), while the cluster was
 * not yet handing out new ids.
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

  // Records are partitioned like the Java client (murmur2 over the key). The adapter partitions a
  // record itself only to keep it away from a partition in doubt, with the count the producer saw last.
  const partitionByKey = javaCompatiblePartitioner();
  let partitionMetadata: PartitionMetadata[] = [];
  const countingPartitioner: ICustomPartitioner = () => (args) => {
    if (args.partitionMetadata.length !== partitionMetadata.length) {
      partitionMetadata = Array.from({ length: args.partitionMetadata.length }, (_, partitionId) => ({
        partitionErrorCode: 0,
        partitionId,
        leader: 0,
        replicas: [],
        isr: [],
      }));
    }
    return partitionByKey(args);
  };
  const partitionOf = (message: Message) => partitionByKey({ topic: config.topic, partitionMetadata, message });

  /**
   * Partitions whose records are in doubt, with how many settlements hold each:
   * new records for them are refused (503) until that is settled, whichever
   * producer would send them. Their leader, or a follower it waits for, did
   * not answer; a new record sent there would most likely fail the same way
   * and cost another producer, and the records of other partitions in its
   * batch would wait for that failure.
   */
  const held = new Map<number, number>();
  const hold = (partitions: Iterable<number>, by: 1 | -1) => {
    for (const partition of partitions) {
      const n = (held.get(partition) ?? 0) + by;
      if (n > 0) held.set(partition, n);
      else held.delete(partition);
    }
  };

  let producersMade = 0;
  const producers = sparedConnection(async () => {
    const made = ++producersMade;
    const p = await connected(
      kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: countingPartitioner,
        retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
      }),
    );
    logger.debug('producer ready', { producer: made });
    return p;
  }, 2);
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
    // Each partition is let go as soon as its own records are settled.
    let holding = new Set(inDoubt.map(partitionOf));
    hold(holding, 1);
    const release = () => {
      const still = new Set(left.map(partitionOf));
      hold(
        [...holding].filter((partition) => !still.has(partition)),
        -1,
      );
      holding = still;
    };
    try {
      while (left.length > 0 && !closed && performance.now() < giveUpAt) {
        try {
          await p.send({ topic: config.topic, acks: -1, timeout: config.requestTimeoutMs, messages: [...left] });
          for (const m of left) stored.add(m);
          left = [];
        } catch (error) {
          for (const m of (error as { writtenMessages?: ReadonlySet<unknown> }).writtenMessages ?? []) stored.add(m);
          left = left.filter((m) => !stored.has(m));
          release();
          if (left.length > 0) await sleep(250);
        }
      }
      logger.warn(left.length === 0 ? 'records in doubt were stored' : 'records in doubt given up as not stored', {
        inDoubt: inDoubt.length,
        stored: stored.size,
        partitions: [...new Set(inDoubt.map(partitionOf))],
      });
    } finally {
      hold(holding, -1);
      void p.disconnect().catch(() => {});
    }
    return stored;
  }

  return {
    async append(records: readonly LogRecord[]) {
      if (closed) throw new ContractError('SHUTTING_DOWN', 'the event log is closed');
      const messages = records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } }));
      // Records for a partition in doubt are not sent: they are answered 503 now, and their clients retry.
      const sendable = held.size === 0 ? messages : messages.filter((m) => !held.has(partitionOf(m)));
      if (sendable.length === 0) throw new ContractError('LOG_UNAVAILABLE', HELD_REFUSAL);
      const producer = producers.get();
      let p: Producer;
      try {
        p = await producer;
      } catch (error) {
        throw unavailable(error);
      }
      try {
        await p.send({ topic: config.topic, acks: -1, timeout: config.requestTimeoutMs, messages: sendable });
      } catch (error) {
        // A producer that failed is not used for anything new: after a request that may have been
        // written, kafkajs has rolled its sequence numbers back, and other records sent under them
        // would be taken by the broker for duplicates of the written ones — acknowledged, not stored.
        if (producers.peek() === producer) producers.forget();
        // The brokers that answered made their partitions' records durable, and the kafkajs patch
        // (patches/kafkajs@2.2.4.patch) hands back those message objects, and the ones in doubt.
        const sent = error as { writtenMessages?: ReadonlySet<unknown>; inDoubtMessages?: ReadonlySet<unknown> };
        const written = sent.writtenMessages ?? new Set<unknown>();
        const knownStored = messages.map((m) => written.has(m));
        const inDoubt = sendable.filter((m) => sent.inDoubtMessages?.has(m) === true);
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
      if (sendable.length < messages.length) {
        const stored = new Set<unknown>(sendable);
        throw new PartlyAppended(
          messages.map((m) => stored.has(m)),
          `${HELD_REFUSAL} (${sendable.length} of ${messages.length} records in the batch were stored)`,
        );
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
            configEntries: tagTopicConfig(config.replicationFactor),
          },
        ],
      });
      logger.info('created topic', { topic: config.topic, partitions: config.partitions, replication: config.replicationFactor });
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...producers.release().map(async (p) => (await p).disconnect()), admin?.disconnect()]);
    },
  };
}
