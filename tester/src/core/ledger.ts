import type { Filter } from '@usertags/contracts';
import type { TagColumns, TagTable } from './oracle/aggregates.ts';
import type { Knowledge } from './oracle/expected.ts';
import type { HistoryEntry } from './oracle/profiles.ts';
import { CARDINALITIES, type TagRecord, tagRecord, userTag, type WorkloadShape } from './workload.ts';

/** What became of a tag that was issued. */
export const TagState = {
  /** Sent, no answer yet. */
  pending: 0,
  /** Answered 2xx. */
  accepted: 1,
  /** Certainly not stored: dropped before sending, or refused with 4xx or 503. */
  absent: 2,
  /** May or may not be stored: timed out, connection failed, or another answer. */
  uncertain: 3,
} as const;
export type TagState = (typeof TagState)[keyof typeof TagState];

const CHUNK_BITS = 16;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;

interface Columns {
  readonly action: Uint8Array;
  readonly origin: Uint16Array;
  readonly brand: Uint8Array;
  readonly category: Uint8Array;
  readonly price: Int32Array;
}

interface Chunk {
  readonly state: Uint8Array;
  /** When each tag was answered (clock ms); dropped once the whole chunk is long settled. */
  settledAt: Float64Array | null;
  /** The previous tag of the same cookie and action, -1 if none: each cookie's history is a chain through the chunks. */
  readonly prev: Int32Array;
  /** The dimensions aggregates need; dropped once no aggregates question can reach the chunk. */
  columns: Columns | null;
  unsettled: number;
  lastSettledAt: number;
}

/**
 * Everything the tester remembers about the tags it issued, compactly (about
 * 18 bytes a tag while aggregates can still ask about it, 5 after): each
 * tag's state and answer time, the chain of each cookie's tags per action,
 * and the columns aggregates are computed from. Tags themselves are not
 * kept: they are rebuilt from the seed when an answer lists them.
 */
export class Ledger {
  readonly shape: WorkloadShape;
  private readonly chunks: Chunk[] = [];
  /** Newest tag index per (cookie rank, action), -1 if none. */
  private readonly heads: Int32Array;
  private recorded = 0;
  private settledUpTo = 0;

  constructor(shape: WorkloadShape) {
    this.shape = shape;
    this.heads = new Int32Array(2 * (shape.cookies + 1)).fill(-1);
  }

  /** How many tags have been issued (sent or dropped) so far; tag i has index i. */
  get count(): number {
    return this.recorded;
  }

  /** How many tags from the first have all been answered (or dropped): tag `settledPrefix` is the oldest still pending. */
  get settledPrefix(): number {
    return this.settledUpTo;
  }

  /** Remembers the next tag of the stream as pending; `rec.index` must be `count`. */
  record(rec: TagRecord): void {
    const i = rec.index;
    if (i !== this.recorded) throw new Error(`tags must be recorded in order: expected ${this.recorded}, got ${i}`);
    const at = i & CHUNK_MASK;
    if (at === 0) this.chunks.push(newChunk());
    const chunk = this.chunks[i >>> CHUNK_BITS] as Chunk;
    const columns = chunk.columns as Columns;
    const head = 2 * rec.cookie + rec.action;
    chunk.prev[at] = this.heads[head] as number;
    this.heads[head] = i;
    chunk.state[at] = TagState.pending;
    chunk.unsettled++;
    columns.action[at] = rec.action;
    columns.origin[at] = rec.origin;
    columns.brand[at] = rec.brand;
    columns.category[at] = rec.category;
    columns.price[at] = rec.price;
    this.recorded++;
  }

  /** Records what became of tag `index`, answered at clock time `at`. */
  settle(index: number, state: TagState, at: number): void {
    const chunk = this.chunk(index);
    const k = index & CHUNK_MASK;
    if (chunk.state[k] === TagState.pending && state !== TagState.pending) chunk.unsettled--;
    chunk.state[k] = state;
    if (chunk.settledAt !== null) chunk.settledAt[k] = at;
    chunk.lastSettledAt = Math.max(chunk.lastSettledAt, at);
    if (index === this.settledUpTo)
      while (this.settledUpTo < this.recorded && this.state(this.settledUpTo) !== TagState.pending) this.settledUpTo++;
  }

  state(index: number): TagState {
    return this.chunk(index).state[index & CHUNK_MASK] as TagState;
  }

  /**
   * What is known of tag `index` for a query whose freshness bound makes tags
   * answered at or before `visibleBefore` visible.
   */
  knowledge(index: number, visibleBefore: number): Knowledge {
    const chunk = this.chunk(index);
    const k = index & CHUNK_MASK;
    const state = chunk.state[k];
    if (state === TagState.absent) return 'absent';
    if (state !== TagState.accepted) return 'unknown';
    if (chunk.settledAt === null) return 'visible';
    return (chunk.settledAt[k] as number) <= visibleBefore ? 'visible' : 'unknown';
  }

  /** The newest tag of a cookie and action so far, -1 if none. */
  head(cookie: number, action: 0 | 1): number {
    if (cookie < 1 || cookie > this.shape.cookies) return -1;
    return this.heads[2 * cookie + action] as number;
  }

  /** The previous tag of the same cookie and action, -1 if none. */
  previous(index: number): number {
    return this.chunk(index).prev[index & CHUNK_MASK] as number;
  }

  /** A cookie's tags of one action, newest first, as the profile oracle walks them. */
  *history(cookie: number, action: 0 | 1, visibleBefore: number): Generator<HistoryEntry> {
    const shape = this.shape;
    for (let i = this.head(cookie, action); i >= 0; i = this.previous(i)) {
      const index = i;
      yield { timeMs: shape.startMs + index, knowledge: this.knowledge(index, visibleBefore), tag: () => userTag(tagRecord(shape, index)) };
    }
  }

  /** The tags as the aggregates oracle reads them, for a query whose freshness bound is `visibleBefore`. */
  table(visibleBefore: number): TagTable {
    return { columns: (fromMs, toMs) => this.columns(fromMs, toMs, visibleBefore), code: dimensionCode };
  }

  /** Views of the chunks' columns over the tags with time in [fromMs, toMs). */
  private *columns(fromMs: number, toMs: number, visibleBefore: number): Generator<TagColumns> {
    const clamp = (ms: number) => Math.min(this.recorded, Math.max(0, ms - this.shape.startMs));
    const lo = clamp(fromMs);
    const hi = clamp(toMs);
    for (let base = lo; base < hi; ) {
      const chunk = this.chunk(base);
      const columns = chunk.columns;
      if (columns === null) throw new Error(`tag ${base} is older than the aggregates window the tester keeps`);
      const a = base & CHUNK_MASK;
      const b = Math.min(CHUNK_SIZE, a + (hi - base));
      const { state, settledAt } = chunk;
      const firstMs = this.shape.startMs + base;
      yield {
        length: b - a,
        action: columns.action.subarray(a, b),
        origin: columns.origin.subarray(a, b),
        brand: columns.brand.subarray(a, b),
        category: columns.category.subarray(a, b),
        price: columns.price.subarray(a, b),
        timeMs: (k) => firstMs + k,
        knowledge: (k) => {
          const s = state[a + k];
          if (s === TagState.absent) return 'absent';
          if (s !== TagState.accepted) return 'unknown';
          return settledAt === null || (settledAt[a + k] as number) <= visibleBefore ? 'visible' : 'unknown';
        },
      };
      base += b - a;
    }
  }

  /**
   * Frees what no question can need any more: answer times of chunks whose
   * every tag was answered at or before `settledBefore` (their accepted tags
   * are visible to every later query), and the aggregate columns of chunks
   * wholly before tag `keepColumnsFrom`.
   */
  release(settledBefore: number, keepColumnsFrom: number): void {
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as Chunk;
      const full = (c + 1) * CHUNK_SIZE <= this.recorded;
      if (full && chunk.settledAt !== null && chunk.unsettled === 0 && chunk.lastSettledAt <= settledBefore) chunk.settledAt = null;
      if (full && (c + 1) * CHUNK_SIZE <= keepColumnsFrom) chunk.columns = null;
    }
  }

  private chunk(index: number): Chunk {
    const chunk = index >= 0 && index < this.recorded ? this.chunks[index >>> CHUNK_BITS] : undefined;
    if (chunk === undefined) throw new RangeError(`tag ${index} has not been issued`);
    return chunk;
  }
}

function newChunk(): Chunk {
  return {
    state: new Uint8Array(CHUNK_SIZE),
    settledAt: new Float64Array(CHUNK_SIZE),
    prev: new Int32Array(CHUNK_SIZE),
    columns: {
      action: new Uint8Array(CHUNK_SIZE),
      origin: new Uint16Array(CHUNK_SIZE),
      brand: new Uint8Array(CHUNK_SIZE),
      category: new Uint8Array(CHUNK_SIZE),
      price: new Int32Array(CHUNK_SIZE),
    },
    unsettled: 0,
    lastSettledAt: Number.NEGATIVE_INFINITY,
  };
}

const DIMENSIONS: Record<Filter, { readonly prefix: string; readonly size: number }> = {
  origin: { prefix: 'origin_', size: CARDINALITIES.origins },
  brand_id: { prefix: 'brand_', size: CARDINALITIES.brands },
  category_id: { prefix: 'category_', size: CARDINALITIES.categories },
};

/** The code of a filter value in the workload's domain (`origin_12` → 12), -1 for a value no tag has. */
export function dimensionCode(filter: Filter, value: string): number {
  const { prefix, size } = DIMENSIONS[filter];
  if (!value.startsWith(prefix)) return -1;
  const digits = value.slice(prefix.length);
  if (!/^(0|[1-9]\d*)$/.test(digits)) return -1;
  const n = Number(digits);
  return n < size ? n : -1;
}
