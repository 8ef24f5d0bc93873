import { z } from 'zod';
import { type AggregatesQuery, FILTERS } from './queries.ts';
import { UserTag } from './user-tag.ts';

/** The answer of `/user_profiles/{cookie}`: newest first, at most `limit` per list. */
export const ProfileAnswer = z
  .strictObject({
    cookie: z.string(),
    views: z.array(UserTag),
    buys: z.array(UserTag),
  })
  .meta({ id: 'ProfileAnswer' });
export type ProfileAnswer = z.output<typeof ProfileAnswer>;

/** The answer of `/aggregates`: every value is a string, numbers included. */
export const AggregatesAnswer = z
  .strictObject({
    columns: z.array(z.string()),
    rows: z.array(z.array(z.string())),
  })
  .meta({ id: 'AggregatesAnswer' });
export type AggregatesAnswer = z.output<typeof AggregatesAnswer>;

/**
 * The column list of an aggregates answer: `1m_bucket`, `action`, the filters
 * present in the query in their fixed order, then the aggregates in query order.
 */
export function aggregatesColumns(query: Pick<AggregatesQuery, 'aggregates' | 'filters'>): string[] {
  const columns = ['1m_bucket', 'action'];
  for (const name of FILTERS) if (query.filters[name] !== undefined) columns.push(name);
  for (const aggregate of query.aggregates) columns.push(aggregate.toLowerCase());
  return columns;
}
