import {
  type AggregatesAnswer,
  type AggregatesQuery,
  aggregatesColumns,
  ContractError,
  formatBucket,
  MS_PER_MINUTE,
} from '@usertags/contracts';

/** What the aggregates answer needs from the read model (the store module that owns the layout implements it). */
export interface AggregateReader {
  readBuckets(query: {
    action: AggregatesQuery['action'];
    filters: AggregatesQuery['filters'];
    fromMs: number;
    toMs: number;
  }): Promise<Array<{ bucketMs: number; count: string; sumPrice: string }>>;
  readWatermarks(): Promise<{ horizonMs: number | undefined }>;
}

/**
 * Answers an aggregates query: one row per minute of the range in time order,
 * "0" for minutes without tags, every value a string. A range that starts
 * before the retention horizon is refused rather than answered with zeros.
 */
export async function answerAggregates(query: AggregatesQuery, reader: AggregateReader): Promise<AggregatesAnswer> {
  const { horizonMs } = await reader.readWatermarks();
  if (horizonMs !== undefined && query.range.fromMs < horizonMs) {
    const message = `time_range starts before the retention horizon ${formatBucket(horizonMs)}; older minutes are no longer kept`;
    throw new ContractError('INVALID_REQUEST', message, { issues: [{ field: 'time_range', message }] });
  }
  const stored = await reader.readBuckets({
    action: query.action,
    filters: query.filters,
    fromMs: query.range.fromMs,
    toMs: query.range.toMs,
  });
  const byBucket = new Map(stored.map((b) => [b.bucketMs, b]));
  const filterValues = (['origin', 'brand_id', 'category_id'] as const).flatMap((f) =>
    query.filters[f] === undefined ? [] : [query.filters[f] as string],
  );
  const rows: string[][] = [];
  for (let bucket = query.range.fromMs; bucket < query.range.toMs; bucket += MS_PER_MINUTE) {
    const totals = byBucket.get(bucket);
    const row = [formatBucket(bucket), query.action, ...filterValues];
    for (const aggregate of query.aggregates) row.push(aggregate === 'COUNT' ? (totals?.count ?? '0') : (totals?.sumPrice ?? '0'));
    rows.push(row);
  }
  return { columns: aggregatesColumns(query), rows };
}
