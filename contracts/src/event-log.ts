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
   * `PartlyAppended`, which says which of them are.
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
