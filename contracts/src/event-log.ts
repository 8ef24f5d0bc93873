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
   * case none of the records should be assumed stored.
   *
   * @example await log.append([{ key: tag.cookie, value: codec.encode(tag), headers: {} }])
   */
  append(records: readonly LogRecord[]): Promise<void>;
  /** Resolves when the log is reachable and the topic exists; rejects otherwise. */
  checkReady(): Promise<void>;
  /** Flushes nothing further and releases connections. Idempotent. */
  close(): Promise<void>;
}
