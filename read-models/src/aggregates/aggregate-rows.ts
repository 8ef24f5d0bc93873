import type { Action } from '@usertags/contracts';

/**
 * The rows of the aggregate read model: every tag adds (1, price) to one row
 * of each stored grouping of its minute and action (the projection that
 * computes them is projector/src/core/aggregate-projection.ts). A grouping is
 * a subset of {origin, brand_id, category_id} as a bit mask (1 = origin,
 * 2 = brand_id, 4 = category_id); columns outside the grouping hold ''.
 *
 * Six of the eight subsets are stored. The two left out, origin+brand_id and
 * origin+category_id, are answered from the all-three rows of the queried
 * origin, summed per minute: at most 67 rows a minute for origin+brand_id
 * (one per category) and at most one per (brand, category) pair the origin
 * actually saw that minute for origin+category_id. Storing them cost ~1.5 of
 * the ~3.5 rows each reference event wrote — see docs/aggregates.md.
 */
export const ORIGIN = 1;
export const BRAND = 2;
export const CATEGORY = 4;
export const ALL_THREE = ORIGIN | BRAND | CATEGORY;
export const GROUPINGS = [0, ORIGIN, BRAND, CATEGORY, BRAND | CATEGORY, ALL_THREE] as const;

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

/**
 * The stored grouping whose rows answer a query with these filters present:
 * the query's own subset when it is stored, otherwise the all-three rows
 * (summed over the filters' matches). Either way, filtering the grouping's
 * rows on the present filters and summing per minute gives the answer.
 */
export function groupingOf(filters: {
  origin?: string | undefined;
  brand_id?: string | undefined;
  category_id?: string | undefined;
}): number {
  const shape =
    (filters.origin === undefined ? 0 : ORIGIN) |
    (filters.brand_id === undefined ? 0 : BRAND) |
    (filters.category_id === undefined ? 0 : CATEGORY);
  return (GROUPINGS as readonly number[]).includes(shape) ? shape : ALL_THREE;
}
