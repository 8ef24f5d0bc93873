import { type Action, minuteOf, type UserTag } from '@usertags/contracts';

/**
 * The aggregate projection: every tag adds (1, price) to one row of each of the
 * 8 groupings of its minute and action — one per subset of
 * {origin, brand_id, category_id}. A query with any subset of those filters
 * then reads exactly one precomputed row per minute.
 *
 * A grouping is a bit mask: 1 = origin, 2 = brand_id, 4 = category_id.
 * Columns outside the grouping hold ''.
 */
export const ORIGIN = 1;
export const BRAND = 2;
export const CATEGORY = 4;
export const GROUPINGS = [0, 1, 2, 3, 4, 5, 6, 7] as const;

export interface AggregateKey {
  /** Start of the minute, epoch milliseconds. */
  readonly bucketMs: number;
  readonly action: Action;
  readonly grouping: number;
  readonly origin: string;
  readonly brandId: string;
  readonly categoryId: string;
}

export interface AggregateIncrement extends AggregateKey {
  count: number;
  sumPrice: number;
}

/** The grouping that serves a query with these filters present. */
export function groupingOf(filters: {
  origin?: string | undefined;
  brand_id?: string | undefined;
  category_id?: string | undefined;
}): number {
  return (
    (filters.origin === undefined ? 0 : ORIGIN) |
    (filters.brand_id === undefined ? 0 : BRAND) |
    (filters.category_id === undefined ? 0 : CATEGORY)
  );
}

/**
 * Increments gathered in memory from a batch of events, one entry per row.
 * Counts and sums stay exact: a batch would need 4 million events on one row
 * for a sum of int32 prices to leave the safe-integer range.
 */
export class AggregateBatch {
  private readonly rows = new Map<string, AggregateIncrement>();
  events = 0;

  add(tag: UserTag): void {
    const bucketMs = minuteOf(Date.parse(tag.time));
    const price = tag.product_info.price;
    const { origin } = tag;
    const { brand_id: brandId, category_id: categoryId } = tag.product_info;
    for (const grouping of GROUPINGS) {
      const o = grouping & ORIGIN ? origin : '';
      const b = grouping & BRAND ? brandId : '';
      const c = grouping & CATEGORY ? categoryId : '';
      // Any string may hold any character; the lengths of the first two values make the key unambiguous.
      const key = `${bucketMs} ${tag.action} ${grouping} ${o.length} ${b.length} ${o}${b}${c}`;
      const row = this.rows.get(key);
      if (row === undefined) {
        this.rows.set(key, { bucketMs, action: tag.action, grouping, origin: o, brandId: b, categoryId: c, count: 1, sumPrice: price });
      } else {
        row.count += 1;
        row.sumPrice += price;
      }
    }
    this.events++;
  }

  /** The rows, in no particular order (the store orders its writes). */
  increments(): AggregateIncrement[] {
    return [...this.rows.values()];
  }

  get size(): number {
    return this.rows.size;
  }
}
