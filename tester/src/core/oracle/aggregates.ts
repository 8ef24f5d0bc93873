import { type Action, type Aggregate, type AggregatesAnswer, FILTERS, type Filter, formatBucket, MS_PER_MINUTE } from '@usertags/contracts';
import type { Expected, Knowledge } from './expected.ts';

/** One `/aggregates` question, as the oracle needs it (canonical aggregate names, in query order). */
export interface AggregatesQuestion {
  readonly fromMs: number;
  readonly toMs: number;
  readonly action: Action;
  readonly aggregates: readonly Aggregate[];
  readonly filters: Readonly<Partial<Record<Filter, string>>>;
}

/**
 * A run of tags held column-wise (index `k` counts from the run's first tag);
 * each dimension is a code (see `TagTable.code`). The run's ledger hands out
 * views of its typed arrays; tests hand-made lists.
 */
export interface TagColumns {
  readonly length: number;
  /** 0 = VIEW, 1 = BUY. */
  readonly action: ArrayLike<number>;
  readonly origin: ArrayLike<number>;
  readonly brand: ArrayLike<number>;
  readonly category: ArrayLike<number>;
  readonly price: ArrayLike<number>;
  timeMs(k: number): number;
  knowledge(k: number): Knowledge;
}

/** The tags the oracle counts. */
export interface TagTable {
  /** The tags with time in [fromMs, toMs), as runs of columns. */
  columns(fromMs: number, toMs: number): Iterable<TagColumns>;
  /** The code of a filter value, -1 for a value no tag has. */
  code(filter: Filter, value: string): number;
}

/**
 * An exact integer sum: a float accumulator while it is surely exact,
 * folded into a BigInt before it could pass 2^53.
 */
export class ExactSum {
  private small = 0;
  private big = 0n;

  add(n: number): void {
    this.small += n;
    if (this.small > 2 ** 52 || this.small < -(2 ** 52)) {
      this.big += BigInt(this.small);
      this.small = 0;
    }
  }

  toString(): string {
    return (this.big + BigInt(this.small)).toString();
  }
}

/**
 * The answer spec §3.3 requires, computed from the tags the tester knows
 * about: one row per minute of [from, to) including empty ones ("0"),
 * columns `1m_bucket`, `action`, the present filters in the fixed order, the
 * aggregates in query order, every value a string, sums exact. Undetermined
 * when a tag that matches the question is `unknown`: then the true answer
 * depends on whether the system kept it, and no answer can be checked.
 */
export function expectedAggregates(q: AggregatesQuestion, table: TagTable): Expected<AggregatesAnswer> {
  const present = FILTERS.filter((f) => q.filters[f] !== undefined);
  const columns = ['1m_bucket', 'action', ...present, ...q.aggregates.map((a) => a.toLowerCase())];
  const action = q.action === 'VIEW' ? 0 : 1;
  const want = (f: Filter) => (q.filters[f] === undefined ? undefined : table.code(f, q.filters[f] as string));
  const origin = want('origin');
  const brand = want('brand_id');
  const category = want('category_id');
  const buckets = Math.max(0, Math.ceil((q.toMs - q.fromMs) / MS_PER_MINUTE));
  const counts = new Array<number>(buckets).fill(0);
  const sums = Array.from({ length: buckets }, () => new ExactSum());

  // A filter value no tag has (code -1) matches nothing; the answer is all zeros.
  const impossible = origin === -1 || brand === -1 || category === -1;
  if (!impossible) {
    for (const run of table.columns(q.fromMs, q.toMs)) {
      const { action: actions, origin: origins, brand: brands, category: categories, price: prices } = run;
      for (let k = 0; k < run.length; k++) {
        if (actions[k] !== action) continue;
        if (origin !== undefined && origins[k] !== origin) continue;
        if (brand !== undefined && brands[k] !== brand) continue;
        if (category !== undefined && categories[k] !== category) continue;
        const known = run.knowledge(k);
        if (known === 'absent') continue;
        const t = run.timeMs(k);
        if (known === 'unknown')
          return { determined: false, reason: `a matching tag at ${new Date(t).toISOString()} is not known to be stored` };
        const b = Math.floor((t - q.fromMs) / MS_PER_MINUTE);
        counts[b] = (counts[b] as number) + 1;
        (sums[b] as ExactSum).add(prices[k] as number);
      }
    }
  }

  const rows: string[][] = [];
  for (let b = 0; b < buckets; b++) {
    const row = [formatBucket(q.fromMs + b * MS_PER_MINUTE), q.action, ...present.map((f) => q.filters[f] as string)];
    for (const a of q.aggregates) row.push(a === 'COUNT' ? String(counts[b]) : (sums[b] as ExactSum).toString());
    rows.push(row);
  }
  return { determined: true, answer: { columns, rows } };
}
