import { AppendInDoubt, ContractError, type EventAppender, errorMessage, type LogRecord, PartlyAppended } from '@usertags/contracts';
import { type Logger, lazyConnection, sleep } from '@usertags/runtime';
import { type Admin, type ICustomPartitioner, type Message, Partitioners, type PartitionMetadata, type Producer } from 'kafkajs';
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

  // Records are partitioned like the Java client (murmur2 over the key). The adapter partitions a
  // record itself only to keep it away from a partition in doubt, with the count the producer saw last.
  const partitionByKey = Partitioners.DefaultPartitioner();
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
   * What the adapter keeps about a producer: the partitions whose latest records
   * are in doubt (`held`: nothing new is sent to them with this producer until
   * that is settled), how many settlements are under way with it, and whether it
   * was let go for new records (it is disconnected once no settlement needs it).
   */
  interface ProducerState {
    readonly held: Set<number>;
    settling: number;
    retired: boolean;
  }
  const states = new WeakMap<Producer, ProducerState>();
  const stateOf = (p: Producer): ProducerState => {
    let state = states.get(p);
    if (state === undefined) {
      state = { held: new Set(), settling: 0, retired: false };
      states.set(p, state);
    }
    return state;
  };

  /** Takes a producer out of use for new records; it is disconnected once no settlement needs it. */
  function retire(p: Producer): void {
    const state = stateOf(p);
    state.retired = true;
    if (producer === p) {
      producerConnection.forget();
      producer = undefined;
    }
    if (state.settling === 0) void p.disconnect().catch(() => {});
  }

  const producerConnection = lazyConnection(() => {
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: countingPartitioner,
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
   * exactly them again with the producer that sent them: kafkajs rolled that
   * producer's sequence numbers for their partitions back to the failed
   * request's, so once a leader answers, the broker either writes the records
   * or recognises them as the duplicates they are — stored either way. Their
   * partitions are held meanwhile: nothing new goes to them with this
   * producer, since the broker would take it for a duplicate of what it may
   * have written. Other partitions go on with the same producer (a new one
   * would need a producer id, which a cluster that lost its controller may not
   * hand out for many seconds). Tried for `inDoubtMs`; what is still in doubt
   * then is reported not stored (its client may retry, and if the dying leader
   * had stored it after all, the log holds it twice: at-least-once), and the
   * producer is retired, its sequence numbers for those partitions unknowable.
   */
  async function settleInDoubt(p: Producer, inDoubt: readonly Message[], partitions: ReadonlySet<number>): Promise<Set<unknown>> {
    const state = stateOf(p);
    state.settling++;
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
        partitions: [...partitions],
      });
    } finally {
      state.settling--;
      if (left.length === 0) for (const partition of partitions) state.held.delete(partition);
      if (left.length > 0 || state.retired) retire(p);
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
      const { held } = stateOf(p);
      const messages = records.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers } }));
      // Records for a partition in doubt are not sent: they are answered 503 now, and their clients retry.
      const sendable = held.size === 0 ? messages : messages.filter((m) => !held.has(partitionOf(m)));
      const holding =
        "the event log is unavailable (the tag's partition is finding out whether earlier tags were stored); the tag was not stored";
      if (sendable.length === 0) throw new ContractError('LOG_UNAVAILABLE', holding);
      try {
        await p.send({ topic: config.topic, acks: -1, timeout: config.requestTimeoutMs, messages: sendable });
      } catch (error) {
        // The brokers that answered made their partitions' records durable, and the kafkajs patch
        // (patches/kafkajs@2.2.4.patch) hands back those message objects, and the ones in doubt.
        const outcome = error as { writtenMessages?: ReadonlySet<unknown>; inDoubtMessages?: ReadonlySet<unknown> };
        const written = outcome.writtenMessages ?? new Set<unknown>();
        const knownStored = messages.map((m) => written.has(m));
        const inDoubt = sendable.filter((m) => outcome.inDoubtMessages?.has(m) === true);
        const refused = unavailable(error);
        let settled: Promise<readonly boolean[]> | undefined;
        if (inDoubt.length > 0) {
          const partitions = new Set(inDoubt.map(partitionOf));
          for (const partition of partitions) held.add(partition);
          settled = settleInDoubt(p, inDoubt, partitions).then((stored) =>
            messages.map((m, i) => knownStored[i] === true || stored.has(m)),
          );
        }
        // A producer the brokers no longer know, or whose sequence numbers they refuse, is let go
        // (after a settlement has taken it up, so that it is disconnected only once that is done).
        if (brokenProducer(error)) retire(p);
        if (settled !== undefined) {
          throw new AppendInDoubt(
            knownStored,
            settled,
            `${refused.message} (${inDoubt.length} of ${messages.length} records in the batch were in doubt and not found stored in ${inDoubtMs / 1000} s)`,
            { cause: error },
          );
        }
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
        const sent = new Set<unknown>(sendable);
        throw new PartlyAppended(
          messages.map((m) => sent.has(m)),
          `${holding} (${sendable.length} of ${messages.length} records in the batch were stored)`,
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

/** Errors after which a producer's id or sequence numbers are no longer good with the brokers. */
const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
  'INVALID_PRODUCER_ID_MAPPING',
  'PRODUCER_FENCED',
]);

function brokenProducer(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const { type, cause, originalError } = e as { type?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof type === 'string' && PRODUCER_STATE_ERRORS.has(type)) return true;
    e = cause ?? originalError;
  }
  return false;
}
