import type { Action } from '@usertags/contracts';
import type { AggregateIncrement } from './aggregate-rows.ts';

/** Where a partition's applied events end: `nextOffset` is the first offset not yet applied. */
export interface PartitionProgress {
  readonly partition: number;
  /** What the store held before this batch (`-1n` for nothing), checked so two writers cannot both apply a span. */
  readonly expected: bigint;
  readonly nextOffset: bigint;
  /** The partition's corroborated event time after this batch (see core/watermark.ts), when it has one. */
  readonly watermarkMs?: number | undefined;
}

/** One minute of an aggregates answer, numbers as decimal strings (64-bit). */
export interface BucketTotals {
  readonly bucketMs: number;
  readonly count: string;
  readonly sumPrice: string;
}

export interface BucketQuery {
  readonly action: Action;
  /** The equality filters present in the query; absent ones are not filtered on. */
  readonly filters: Readonly<{ origin?: string; brand_id?: string; category_id?: string }>;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Thrown when the stored offsets are not those the writer expected: another writer got there first. */
export class OffsetConflict extends Error {
  readonly partition: number;
  constructor(partition: number) {
    super(`the stored offset of partition ${partition} changed under this writer`);
    this.name = 'OffsetConflict';
    this.partition = partition;
  }
}

/**
 * A batch's increments as the store will write them (ordered and encoded), made by `prepare` ahead
 * of the write so that the work happens while the store is busy with the write before.
 */
export interface PreparedIncrements {
  readonly prepared: true;
  /** How many rows the write adds to or creates. */
  readonly rows: number;
  readonly payload: string;
}

/**
 * The aggregate read model: minute rows per grouping, and the projection's
 * offsets, written together.
 */
export interface AggregateStore {
  /** Creates or upgrades the schema. Safe to call from several processes. */
  migrate(): Promise<void>;
  /** The next offset to apply for each partition of `topic` that has any. */
  loadOffsets(topic: string): Promise<Map<number, bigint>>;
  /** The stored corroborated event time of each partition of `topic` that has one (every writer's partitions). */
  loadWatermarks(topic: string): Promise<Map<number, number>>;
  /** The identity of the log `topic` was read from, as bound by `bindLog`; `undefined` while unbound. */
  logBinding(topic: string): Promise<string | undefined>;
  /** Binds the read model to the log `identity` for `topic` unless it is bound already; resolves the identity it is bound to. */
  bindLog(topic: string, identity: string): Promise<string>;
  /** Orders and encodes increments for `apply`; synchronous, touches no database. */
  prepare(increments: readonly AggregateIncrement[]): PreparedIncrements;
  /**
   * Adds `increments` (as they are or prepared) and moves `topic`'s offsets to `progress` in one
   * transaction: both happen or neither does. Throws `OffsetConflict` (and
   * changes nothing) when a partition's stored offset is not `expected`.
   */
  apply(
    topic: string,
    increments: readonly AggregateIncrement[] | PreparedIncrements,
    progress: readonly PartitionProgress[],
    newestEventMs: number,
  ): Promise<void>;
  /** The stored totals for the minutes in `[fromMs, toMs)` matching the filters, in time order; minutes without tags are absent. */
  readBuckets(query: BucketQuery): Promise<BucketTotals[]>;
  /** The newest event time applied so far, and the retention horizon (answers before it may be incomplete). */
  readWatermarks(): Promise<{ newestEventMs: number | undefined; horizonMs: number | undefined }>;
  /**
   * Deletes minutes before `horizonMs` and records the horizon (it never moves back). Returns the number of
   * rows deleted.
   */
  dropBefore(horizonMs: number): Promise<number>;
  /** Resolves when the database answers. */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}
