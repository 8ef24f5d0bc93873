import { ContractError } from './errors.ts';

/**
 * The event log as the command side sees it: an append-only, partitioned log
 * in which records with the same key keep their order. Kafka is the production
 * adapter; an embedded on-disk log is the default for a single machine.
 */

/** One record to append. `key` chooses the partition (the cookie, so a shopper's tags stay in order). */
export interface LogRecord {
  readonly key: string;
  readonly value: Buffer;
  /** Small string headers, e.g. W3C `traceparent`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Where an appended record landed. Offsets are decimal strings, as Kafka's are 64-bit. */
export interface AppendedRecord {
  readonly partition: number;
  readonly offset: string;
}

export interface EventAppender {
  /**
   * Appends `records` and resolves only once the log has made all of them
   * durable (for Kafka: acknowledged by all in-sync replicas). The order of
   * records with the same key is kept. Rejects with a retryable
   * `ContractError('LOG_UNAVAILABLE')` when the log cannot be reached; in that
   * case none of the records should be assumed stored — unless the error is a
   * `PartlyAppended`, which says which of them are, or an `AppendInDoubt`,
   * which says so later for the records whose fate the log could not tell yet.
   *
   * @example await log.append([{ key: tag.cookie, value: codec.encode(tag), headers: {} }])
   */
  append(records: readonly LogRecord[]): Promise<void>;
  /** Resolves when the log is reachable and the topic exists; rejects otherwise. */
  checkReady(): Promise<void>;
  /** Flushes nothing further and releases connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * An append that failed after the log had made some of its records durable:
 * a batch spans partitions led by several brokers, and one of them did not
 * answer while the others did. `stored[i]` tells whether `records[i]` is
 * durable; the rest are not. Answering 503 for a stored record would make its
 * client send it again, a duplicate the server could have avoided.
 */
export class PartlyAppended extends ContractError {
  readonly stored: readonly boolean[];

  constructor(stored: readonly boolean[], message: string, options: { cause?: unknown } = {}) {
    super('LOG_UNAVAILABLE', message, options);
    this.name = 'PartlyAppended';
    this.stored = stored;
  }
}

/**
 * An append that failed in a way that leaves open whether some of its records
 * were made durable: a produce request timed out, or its connection broke, with
 * the request already sent (a leader that wrote the batch and died before it
 * answered). `stored` says which records are known durable now; `settled`
 * resolves (never rejects) with the final answer for every record, once the
 * adapter has found out — for Kafka by sending exactly the records in doubt
 * again with the same producer and sequence numbers, which the broker either
 * writes or recognises as the duplicates they are. A record still in doubt when
 * the adapter gives up is reported not stored. The caller need not hold up its
 * next append while this settles.
 */
export class AppendInDoubt extends PartlyAppended {
  readonly settled: Promise<readonly boolean[]>;

  constructor(stored: readonly boolean[], settled: Promise<readonly boolean[]>, message: string, options: { cause?: unknown } = {}) {
    super(stored, message, options);
    this.name = 'AppendInDoubt';
    this.settled = settled;
  }
}
