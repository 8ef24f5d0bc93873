import type { Link } from '@opentelemetry/api';
import type { DeadLetterSink, SourceBatch } from '@usertags/contracts';
import { type AggregateFields, ContractError, type EventCodec, errorMessage } from '@usertags/contracts';
import { type AggregateStore, OffsetConflict, type PartitionProgress, type PreparedIncrements } from '@usertags/read-models/ports';
import { backoffMs, createLinkCollector, type Logger, sleep } from '@usertags/runtime';
import { AggregateBatch } from './aggregate-projection.ts';
import { inBatchSpan } from './batch-trace.ts';
import { lowWatermark, PartitionWatermark } from './watermark.ts';

export interface AggregateProjectorOptions {
  readonly topic: string;
  /** Flush once this many events are buffered. */
  readonly maxEvents: number;
  /** Flush at the latest this long after the first buffered event (freshness). */
  readonly maxDelayMs: number;
  /** Minutes older than the low watermark (core/watermark.ts) minus this are dropped. */
  readonly retentionMs: number;
  /** Events at least as new as a time that a partition must see before its watermark reaches that time. */
  readonly confirmations: number;
}

export interface AggregateProjectorObserver {
  onFlush(events: number, rows: number, seconds: number): void;
  onDeadLetter(reason: string): void;
  onLateEvent(): void;
  onStoreRetry(error: unknown): void;
  /** After each durable write: the new offsets, e.g. to commit them to the log as a hint. */
  onApplied(progress: readonly PartitionProgress[]): void;
  /**
   * The store's offsets were not what this projector expected (another writer, or a replayed version
   * made live): the buffer is dropped and reading must go on from `offsets`, e.g. by seeking the source.
   */
  onReload(offsets: ReadonlyMap<number, bigint>): void;
}

export interface AggregateProjector {
  /** Loads the stored offsets; call before the first batch. */
  init(): Promise<void>;
  handle(batch: SourceBatch): Promise<void>;
  /** Flushes if the oldest buffered event has waited `maxDelayMs`. */
  flushIfDue(): Promise<void>;
  /** Flushes whatever is buffered and waits until it is stored. */
  flush(): Promise<void>;
  /** The next offset to apply per partition, as stored or being stored. */
  applied(): ReadonlyMap<number, bigint>;
}

interface Snapshot {
  /** Ordered and encoded when the snapshot is taken, while the write before it may still be running. */
  readonly increments: PreparedIncrements;
  readonly progress: PartitionProgress[];
  readonly events: number;
  readonly newestEventMs: number;
  /** The sampled trace contexts of the events in it, for the write's batch span. */
  readonly linked: { links: Link[]; dropped: number };
}

const yieldToIo = () => new Promise<void>((r) => setImmediate(r));
/** Records applied between two looks at whether a write is due (and two turns of the event loop). */
const CHECK_EVERY = 1000;

/**
 * What the projector has gathered for its next write: the increments of the
 * events applied since the last one, each partition's progress, the events'
 * trace links, and since when it has been gathering. Its transitions are
 * `add` (an event), `began` (a record came: the first starts the clock),
 * `note` (a partition's progress), `take` (hand it all to a write and start
 * empty) and `discard` (drop it all, after a conflict).
 */
class Gathering {
  private batch = new AggregateBatch();
  private readonly progress = new Map<number, PartitionProgress>();
  private readonly links = createLinkCollector();
  /** When the first record of this gathering came; `undefined` while it is empty. */
  private since: number | undefined;

  get events(): number {
    return this.batch.events;
  }

  /** Partitions with progress gathered. */
  partitions(): IterableIterator<number> {
    return this.progress.keys();
  }

  isEmpty(): boolean {
    return this.progress.size === 0;
  }

  /** How long it has been gathering at `now`; `undefined` while nothing came. */
  waited(now: number): number | undefined {
    return this.since === undefined ? undefined : now - this.since;
  }

  /** The next offset of `partition` noted so far, if any. */
  nextOffset(partition: number): bigint | undefined {
    return this.progress.get(partition)?.nextOffset;
  }

  link(headers: Readonly<Record<string, string>>): void {
    this.links.add(headers);
  }

  add(event: AggregateFields): void {
    this.batch.add(event);
  }

  /** Marks that a record came (an event added, or a parked record with progress to store); the first one starts the clock. */
  began(now: () => number): void {
    this.since ??= now();
  }

  /** Notes that `partition` is applied up to `nextOffset`; `expected` is where its stored offset was when gathering began. */
  note(partition: number, storedOffset: bigint | undefined, nextOffset: bigint, watermarkMs: number | undefined): void {
    const before = this.progress.get(partition);
    this.progress.set(partition, { partition, expected: before?.expected ?? storedOffset ?? -1n, nextOffset, watermarkMs });
  }

  /** Hands everything to a write and starts empty. */
  take(store: AggregateStore, newestEventMs: number): Snapshot {
    const snapshot: Snapshot = {
      increments: store.prepare(this.batch.increments()),
      progress: [...this.progress.values()],
      events: this.batch.events,
      newestEventMs,
      linked: this.links.take(),
    };
    this.clear();
    return snapshot;
  }

  discard(): void {
    this.links.take();
    this.clear();
  }

  private clear(): void {
    this.progress.clear();
    this.batch = new AggregateBatch();
    this.since = undefined;
  }
}

/**
 * Consumes batches, projects them into minute increments in memory, and
 * writes increments and offsets in one store transaction. Records at offsets
 * the store already has are skipped, so re-delivery after a crash neither
 * loses nor double-counts an event. Store errors are retried with backoff
 * while the batch holds its place; undecodable records are parked.
 *
 * One write may be in flight while the next batch is gathered and prepared
 * (rows ordered and encoded), so decoding, aggregating and encoding overlap
 * with the database's work and the database goes from one write straight to
 * the next; a second full buffer waits for the write before it.
 *
 * A write is the batch that tracing sees: one `process <topic>` span per
 * write, linked to the events it applies, with the store's spans inside.
 */
export function createAggregateProjector(
  store: AggregateStore,
  codec: EventCodec,
  deadLetters: DeadLetterSink,
  options: AggregateProjectorOptions,
  observer: AggregateProjectorObserver,
  logger: Logger,
  now: () => number = Date.now,
): AggregateProjector {
  // Offsets stored, or being stored by the write in flight.
  let stored = new Map<number, bigint>();
  const gathering = new Gathering();
  let newestEventMs = Number.NEGATIVE_INFINITY;
  // The recorded retention horizon: events before it are late and not counted.
  let lastHorizonMs = Number.NEGATIVE_INFINITY;
  const watermarks = new Map<number, PartitionWatermark>();
  const watermarkOf = (partition: number) => {
    let w = watermarks.get(partition);
    if (w === undefined) {
      w = new PartitionWatermark(options.confirmations);
      watermarks.set(partition, w);
    }
    return w;
  };
  let heartbeat: (() => Promise<void>) | undefined;
  let writing: Promise<void> = Promise.resolve();
  // Set when a write found its offsets taken by another writer: the next call fails so the source restarts.
  let conflict: OffsetConflict | undefined;
  // One batch or flush at a time: the timer and the consumer share this chain.
  let chain: Promise<void> = Promise.resolve();
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.then(
      () => {},
      () => {},
    );
    return run;
  };

  function nextToApply(partition: number): bigint {
    return gathering.nextOffset(partition) ?? stored.get(partition) ?? 0n;
  }

  /**
   * After a write another writer's offsets refused: drops what is gathered, takes the store's offsets
   * as the truth again and moves the reader back to them. Returns the refusal, or undefined if none.
   */
  async function reloadIfConflicted(): Promise<OffsetConflict | undefined> {
    if (conflict === undefined) return undefined;
    const error = conflict;
    conflict = undefined;
    const seen = new Set([...stored.keys(), ...gathering.partitions()]);
    gathering.discard();
    stored = await store.loadOffsets(options.topic);
    // Every partition read so far goes on from what the store has (from 0 where it has nothing).
    const from = new Map(stored);
    for (const partition of seen) if (!from.has(partition)) from.set(partition, 0n);
    observer.onReload(from);
    return error;
  }

  /** As `reloadIfConflicted`, then fails the batch at hand so the reader starts again from the stored offsets. */
  async function throwIfConflicted(): Promise<void> {
    const error = await reloadIfConflicted();
    if (error !== undefined) throw error;
  }

  async function applyBatch(batch: SourceBatch): Promise<void> {
    await throwIfConflicted();
    heartbeat = batch.heartbeat;
    let next = nextToApply(batch.partition);
    if (!continues(batch, next)) return;
    const horizon = lastHorizonMs;
    const watermark = watermarkOf(batch.partition);
    const clock = now();
    let sinceCheck = 0;
    for (const record of batch.records) {
      if (record.offset < next) continue; // applied already (re-delivery)
      if (++sinceCheck === CHECK_EVERY) {
        // A fetch may bring 50,000 records a partition: writes stay near maxEvents, and the write in
        // flight hears from its database between chunks.
        sinceCheck = 0;
        notePending(batch.partition, next);
        if (writeDue()) await startWrite();
        else await yieldToIo();
      }
      try {
        if (record.value === null) throw new ContractError('UNDECODABLE_EVENT', 'record has no value');
        const event = codec.decodeAggregateFields(record.value);
        gathering.link(record.headers);
        const eventMs = event.timeMs;
        if (eventMs < horizon) {
          observer.onLateEvent();
        } else {
          gathering.add(event);
          watermark.observe(eventMs, clock);
          if (eventMs > newestEventMs) newestEventMs = eventMs;
          gathering.began(now);
        }
      } catch (error) {
        const reason = errorMessage(error);
        await deadLetters.park(record, { topic: batch.topic, partition: batch.partition }, reason);
        observer.onDeadLetter(reason);
        logger.warn('parked an undecodable record', { partition: batch.partition, offset: record.offset.toString(), reason });
        gathering.began(now);
      }
      next = record.offset + 1n;
    }
    notePending(batch.partition, next);
    if (writeDue()) await startWrite();
  }

  // Per partition, the last batch refused for starting after the next offset to apply: `<that offset>:<its first>`.
  const refusedGaps = new Map<number, string>();

  /**
   * Whether a batch continues from `next`, the partition's next offset to
   * apply. A batch that starts after it was read before the reader was moved
   * back (a timed flush that undid a refused write moves the reader while a
   * batch fetched from the old position is already on its way); applying it
   * would store progress over records never counted. Such a batch is dropped
   * and the reader moved to `next` again. The same gap found again right
   * after reading from `next` is real — offsets that hold no record, such as
   * transaction markers a foreign producer left — and is read past.
   */
  function continues(batch: SourceBatch, next: bigint): boolean {
    const first = batch.records[0]?.offset;
    if (first === undefined || first <= next) {
      refusedGaps.delete(batch.partition);
      return true;
    }
    const gap = `${next}:${first}`;
    if (refusedGaps.get(batch.partition) === gap) {
      refusedGaps.delete(batch.partition);
      logger.warn('offsets without records in the log; reading on past them', {
        partition: batch.partition,
        from: next.toString(),
        to: first.toString(),
      });
      return true;
    }
    refusedGaps.set(batch.partition, gap);
    logger.warn('a batch starts after the next offset to apply; reading again from there', {
      partition: batch.partition,
      next: next.toString(),
      first: first.toString(),
    });
    observer.onReload(new Map([[batch.partition, next]]));
    return false;
  }

  function notePending(partition: number, next: bigint): void {
    gathering.note(partition, stored.get(partition), next, watermarks.get(partition)?.value());
  }

  function writeDue(): boolean {
    return gathering.events >= options.maxEvents;
  }

  /** Hands the buffer to a write that runs after the one in flight; returns once it has started. */
  async function startWrite(): Promise<void> {
    if (gathering.isEmpty()) return;
    const snapshot = gathering.take(store, Number.isFinite(newestEventMs) ? newestEventMs : 0);
    for (const p of snapshot.progress) stored.set(p.partition, p.nextOffset);
    await writing;
    await throwIfConflicted();
    writing = inBatchSpan({ projection: 'aggregates', topic: options.topic, events: snapshot.events }, snapshot.linked, () =>
      write(snapshot),
    );
  }

  async function write(snapshot: Snapshot): Promise<void> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await store.apply(options.topic, snapshot.increments, snapshot.progress, snapshot.newestEventMs);
        break;
      } catch (error) {
        if (error instanceof OffsetConflict) {
          // Another writer applied this span: drop ours; the next batch or timed flush starts again from what is stored.
          logger.warn('offsets changed under this projector; reloading', { partition: error.partition });
          conflict = error;
          return;
        }
        observer.onStoreRetry(error);
        logger.warn('aggregate store write failed; retrying', { attempt, error: errorMessage(error) });
        await sleep(backoffMs(attempt));
        await heartbeat?.().catch(() => {});
      }
    }
    observer.onFlush(snapshot.events, snapshot.increments.rows, (performance.now() - started) / 1000);
    observer.onApplied(snapshot.progress);

    await applyRetention();
  }

  /**
   * Moves the retention horizon to the low watermark of every partition (this writer's and the others')
   * minus the retention, in steps of at least a minute, and deletes what falls before it.
   */
  async function applyRetention(): Promise<void> {
    const own = lowWatermark([...watermarks.values()].flatMap((w) => w.value() ?? []));
    if (own === undefined || own - options.retentionMs - lastHorizonMs < 60_000) return;
    try {
      const low = lowWatermark((await store.loadWatermarks(options.topic)).values());
      if (low === undefined) return;
      const horizon = low - options.retentionMs;
      if (horizon - lastHorizonMs < 60_000) return;
      const dropped = await store.dropBefore(horizon);
      lastHorizonMs = horizon;
      if (dropped > 0) logger.info('dropped minutes past retention', { horizon: new Date(horizon).toISOString(), rows: dropped });
    } catch (error) {
      logger.warn('retention delete failed; will try again', { error: errorMessage(error) });
    }
  }

  return {
    async init() {
      stored = await store.loadOffsets(options.topic);
      for (const [partition, ms] of await store.loadWatermarks(options.topic)) {
        watermarks.set(partition, new PartitionWatermark(options.confirmations, ms));
      }
      const { newestEventMs: newest, horizonMs } = await store.readWatermarks();
      if (newest !== undefined) newestEventMs = newest;
      if (horizonMs !== undefined) lastHorizonMs = horizonMs;
    },
    handle: (batch) => exclusive(() => applyBatch(batch)),
    flushIfDue: () =>
      exclusive(async () => {
        // A refused write is undone here too, not only when the next batch comes: with no more traffic
        // its events would otherwise stay uncounted, and `applied()` (the lag) ahead of the store.
        if ((await reloadIfConflicted()) !== undefined) return;
        const waited = gathering.waited(now());
        if (waited === undefined || waited < options.maxDelayMs) return;
        // Traffic is low when the timer is what flushes, so there is nothing to overlap with: wait for it.
        await startWrite();
        await writing;
      }),
    flush: () =>
      exclusive(async () => {
        await startWrite();
        await writing;
        await throwIfConflicted();
      }),
    applied: () => stored,
  };
}
