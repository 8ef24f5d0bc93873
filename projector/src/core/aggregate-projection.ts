import { type Action, type AggregateFields, minuteOf } from '@usertags/contracts';
import { type AggregateIncrement, ALL_THREE, BRAND, CATEGORY, ORIGIN } from '@usertags/read-models/ports';

/**
 * The aggregate projection: every tag adds (1, price) to one row of each
 * stored grouping of its minute and action (the groupings are the read
 * model's, in read-models/src/aggregates/aggregate-rows.ts).
 */
type Rows<K> = Map<K, AggregateIncrement>;

/** The rows of one minute and action, one collection per stored grouping, keyed by the grouping's values. */
interface MinuteRows {
  readonly bucketMs: number;
  readonly action: Action;
  total: AggregateIncrement | undefined;
  readonly byOrigin: Rows<string>;
  readonly byBrand: Rows<string>;
  readonly byCategory: Rows<string>;
  readonly byBrandCategory: Map<string, Rows<string>>;
  readonly byAll: Map<string, Map<string, Rows<string>>>;
}

/**
 * Increments gathered in memory from a batch of events, one entry per row.
 * Counts and sums stay exact: a batch would need 4 million events on one row
 * for a sum of int32 prices to leave the safe-integer range.
 *
 * Rows are found through nested maps keyed by the values themselves (minute
 * and action, then origin, brand, category as each grouping needs), so adding
 * an event hashes its three short strings once and builds no composite key.
 */
export class AggregateBatch {
  private readonly minutes = new Map<number, MinuteRows>();
  events = 0;

  add(event: AggregateFields): void {
    const bucketMs = minuteOf(event.timeMs);
    const { action, origin, brandId, categoryId, price } = event;
    const slot = bucketMs * 2 + (action === 'BUY' ? 1 : 0);
    let m = this.minutes.get(slot);
    if (m === undefined) {
      m = {
        bucketMs,
        action,
        total: undefined,
        byOrigin: new Map(),
        byBrand: new Map(),
        byCategory: new Map(),
        byBrandCategory: new Map(),
        byAll: new Map(),
      };
      this.minutes.set(slot, m);
    }
    if (m.total === undefined) m.total = this.row(m, 0, '', '', '');
    m.total.count += 1;
    m.total.sumPrice += price;
    this.bump(m.byOrigin, origin, m, ORIGIN, origin, '', '', price);
    this.bump(m.byBrand, brandId, m, BRAND, '', brandId, '', price);
    this.bump(m.byCategory, categoryId, m, CATEGORY, '', '', categoryId, price);
    this.bump(inner(m.byBrandCategory, brandId), categoryId, m, BRAND | CATEGORY, '', brandId, categoryId, price);
    this.bump(inner(inner(m.byAll, origin), brandId), categoryId, m, ALL_THREE, origin, brandId, categoryId, price);
    this.events++;
  }

  /** The rows, in no particular order (the store orders its writes). */
  increments(): AggregateIncrement[] {
    const out: AggregateIncrement[] = [];
    for (const m of this.minutes.values()) {
      if (m.total !== undefined) out.push(m.total);
      for (const rows of [m.byOrigin, m.byBrand, m.byCategory]) for (const r of rows.values()) out.push(r);
      for (const rows of m.byBrandCategory.values()) for (const r of rows.values()) out.push(r);
      for (const brands of m.byAll.values()) for (const rows of brands.values()) for (const r of rows.values()) out.push(r);
    }
    return out;
  }

  private row(m: MinuteRows, grouping: number, origin: string, brandId: string, categoryId: string): AggregateIncrement {
    return { bucketMs: m.bucketMs, action: m.action, grouping, origin, brandId, categoryId, count: 0, sumPrice: 0 };
  }

  private bump(
    rows: Rows<string>,
    key: string,
    m: MinuteRows,
    grouping: number,
    origin: string,
    brandId: string,
    categoryId: string,
    price: number,
  ): void {
    let row = rows.get(key);
    if (row === undefined) {
      row = this.row(m, grouping, origin, brandId, categoryId);
      rows.set(key, row);
    }
    row.count += 1;
    row.sumPrice += price;
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let found = outer.get(key);
  if (found === undefined) {
    found = new Map();
    outer.set(key, found);
  }
  return found;
}
