/**
 * The event log as a projector reads it: batches of records per partition, in
 * offset order. Kafka (a consumer group) is the production adapter; the
 * adapters are in event-log/.
 */

/** What a projector learns of the log it reads. */
export interface LogDescription {
  /** Names the log for good: `kafka:<cluster id>/<topic id>`, or `embedded:<id of the topic in the log file>`. */
  readonly identity: string;
  /** Per partition, the first offset the log still holds and the offset it will give next. */
  readonly partitions: ReadonlyMap<number, { readonly start: bigint; readonly end: bigint }>;
}

export interface SourceRecord {
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface SourceBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
  /** Tells the log this reader is alive; call it while a batch takes long (e.g. retrying a store). */
  heartbeat(): Promise<void>;
}

export interface SourceStartOptions {
  /**
   * Where to read a partition from when it is assigned to this reader: the
   * reader's own stored position, which wins over the log's committed one.
   * `undefined` keeps the log's position.
   */
  startFrom?(topic: string, partition: number): bigint | undefined;
}

export interface EventSource {
  /**
   * Delivers batches one at a time until `stop()`. A handler that throws makes
   * the source re-deliver from its last committed position, so a handler must
   * skip what it has already applied.
   */
  start(handler: (batch: SourceBatch) => Promise<void>, options?: SourceStartOptions): Promise<void>;
  /**
   * Makes the next batch of `partition` start at `offset` (backwards or forwards), e.g. after the
   * read model the reader writes to was replaced. Call it from the handler and then throw, so the
   * batch in hand is not taken as handled.
   */
  seek(topic: string, partition: number, offset: bigint): void;
  /** Records that everything before these offsets is applied, so a restart need not read it again. A hint only. */
  commit(topic: string, progress: ReadonlyArray<{ partition: number; nextOffset: bigint }>): Promise<void>;
  /** The positions consumer group `groupId` has committed on `topic` (another group's, e.g. the live projection's). */
  committed(topic: string, groupId: string): Promise<Map<number, bigint>>;
  /** The log's identity and each partition's first and next offset; `undefined` while `topic` does not exist. */
  describe(topic: string): Promise<LogDescription | undefined>;
  /**
   * Stops handing over batches (a batch already handed over finishes) until `resume()`; the reader keeps
   * its place in the group. Used while the read model refuses the log it finds.
   */
  pause(): void;
  resume(): void;
  /**
   * The partitions the consumer group gives this reader now; absent when it reads every partition
   * (the embedded log). A replica reports lag only for these: its positions on a partition another
   * replica has since taken over are stale.
   */
  assigned?(): ReadonlySet<number>;
  /** Records in the log past `applied`, per partition: the lag. */
  lag(topic: string, applied: ReadonlyMap<number, bigint>): Promise<Map<number, number>>;
  stop(): Promise<void>;
}

/** The headers a parked record carries: its own, plus why and where from. */
export function deadLetterHeaders(
  record: SourceRecord,
  source: { topic: string; partition: number },
  reason: string,
): Record<string, string> {
  return {
    ...record.headers,
    'x-dead-letter-reason': reason,
    'x-source-topic': source.topic,
    'x-source-partition': String(source.partition),
    'x-source-offset': record.offset.toString(),
  };
}

/** Where records that cannot be projected go, with the reason, so they are kept and counted but never block a partition. */
export interface DeadLetterSink {
  park(record: SourceRecord, source: { topic: string; partition: number }, reason: string): Promise<void>;
  close(): Promise<void>;
}
