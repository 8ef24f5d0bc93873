/**
 * Event time that no single tag can move. The contract lets the aggregates
 * drop data older than "the newest event time − 24 h"; taken literally, one
 * tag with a far-future time (a wrong clock, a typo, a hostile sender) would
 * make every real minute "too old" at once. So retention follows a watermark
 * instead of the newest time:
 *
 * - Per partition, the watermark is the `confirmations`-th newest event time
 *   the partition has seen: a time counts only once `confirmations − 1`
 *   events at least as new have followed it. Fewer outliers than that, in
 *   the future or the past, never move it; a genuine stream moves it along
 *   within `confirmations` events.
 * - A time more than `MAX_AHEAD_OF_CLOCK_MS` ahead of the projector's clock
 *   is not counted at all: events do not happen in the future. (The clock is
 *   only a ceiling: the reference stream runs years behind it.)
 * - The retention horizon is the lowest watermark over every partition that
 *   has one, minus the retention: outliers must reach every partition, in
 *   numbers, to move it. An idle partition holds retention back, which keeps
 *   more data, never less.
 *
 * The per-partition watermark is stored with the partition's offset (same
 * transaction), so it survives restarts; it only ever moves forward.
 */
export const MAX_AHEAD_OF_CLOCK_MS = 24 * 3_600_000;

export class PartitionWatermark {
  /** A min-heap of the `confirmations` newest event times seen since this process started. */
  private readonly newest: number[] = [];
  private readonly confirmations: number;
  private stored: number | undefined;

  constructor(confirmations: number, stored?: number) {
    if (!Number.isInteger(confirmations) || confirmations < 1) throw new RangeError('confirmations must be a positive integer');
    this.confirmations = confirmations;
    this.stored = stored;
  }

  /** Counts one event's time; `nowMs` is the projector's clock. */
  observe(timeMs: number, nowMs: number): void {
    if (timeMs > nowMs + MAX_AHEAD_OF_CLOCK_MS) return;
    const heap = this.newest;
    if (heap.length < this.confirmations) {
      heap.push(timeMs);
      siftUp(heap, heap.length - 1);
    } else if (timeMs > (heap[0] as number)) {
      heap[0] = timeMs;
      siftDown(heap, 0);
    }
  }

  /** The corroborated event time, or `undefined` while too few events have been seen. */
  value(): number | undefined {
    const confirmed = this.newest.length === this.confirmations ? this.newest[0] : undefined;
    if (confirmed === undefined) return this.stored;
    if (this.stored === undefined || confirmed > this.stored) this.stored = confirmed;
    return this.stored;
  }
}

/** The lowest of the partitions' watermarks, or `undefined` when none has one. */
export function lowWatermark(watermarks: Iterable<number>): number | undefined {
  let low: number | undefined;
  for (const w of watermarks) if (low === undefined || w < low) low = w;
  return low;
}

function siftUp(heap: number[], from: number): void {
  let i = from;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((heap[parent] as number) <= (heap[i] as number)) return;
    [heap[parent], heap[i]] = [heap[i] as number, heap[parent] as number];
    i = parent;
  }
}

function siftDown(heap: number[], from: number): void {
  let i = from;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let least = i;
    if (left < heap.length && (heap[left] as number) < (heap[least] as number)) least = left;
    if (right < heap.length && (heap[right] as number) < (heap[least] as number)) least = right;
    if (least === i) return;
    [heap[least], heap[i]] = [heap[i] as number, heap[least] as number];
    i = least;
  }
}
