import type { AggregatesAnswer, UserTagInput } from '@usertags/contracts';

/** A small deterministic PRNG (mulberry32): the same seed gives the same stream. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const STREAM_ORIGINS = ['origin_a', 'o_b_c', 'plain'] as const;
export const STREAM_BRANDS = ['brand_1', 'b_2'] as const;
export const STREAM_CATEGORIES = ['cat_1', 'c_2', 'c3'] as const;

export interface StreamOptions {
  readonly seed: number;
  readonly count: number;
  /** Epoch ms of the first minute. */
  readonly startMs: number;
  /** How many minutes the times spread over. */
  readonly minutes: number;
}

/**
 * Tags for aggregate tests: few filter values (with underscores) so every
 * combination has data, times that include exact minute starts and the last
 * millisecond of minutes, and prices that include the int32 extremes so sums
 * pass 32 bits.
 */
export function aggregateStream(options: StreamOptions): UserTagInput[] {
  const rnd = random(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const span = options.minutes * 60_000;
  const tags: UserTagInput[] = [];
  for (let i = 0; i < options.count; i++) {
    const r = rnd();
    const minute = Math.floor(rnd() * options.minutes) * 60_000;
    const offset = r < 0.05 ? 0 : r < 0.1 ? 59_999 : Math.floor(rnd() * 60_000);
    const time = new Date(options.startMs + Math.min(span - 1, minute + offset)).toISOString();
    const p = rnd();
    const price = p < 0.05 ? 2_147_483_647 : p < 0.08 ? -2_147_483_648 : Math.floor(rnd() * 2000) - 500;
    tags.push({
      time,
      cookie: `cookie-${Math.floor(rnd() * 500)}`,
      country: pick(['PL', 'DE', 'US']),
      device: pick(['PC', 'MOBILE', 'TV'] as const),
      action: rnd() < 0.5 ? 'VIEW' : 'BUY',
      origin: pick(STREAM_ORIGINS),
      product_info: {
        product_id: rnd() < 0.5 ? String(i) : i,
        brand_id: pick(STREAM_BRANDS),
        category_id: pick(STREAM_CATEGORIES),
        price,
      },
    });
  }
  return tags;
}

export interface OracleQuery {
  readonly fromMs: number;
  readonly toMs: number;
  readonly action: 'VIEW' | 'BUY';
  readonly aggregates: ReadonlyArray<'COUNT' | 'SUM_PRICE'>;
  readonly origin?: string;
  readonly brand_id?: string;
  readonly category_id?: string;
}

/**
 * The spec's SQL, computed the plainest way: for every minute of the range,
 * filter all tags and add them up (with BigInt, so sums never round).
 */
export function expectedAggregates(tags: readonly UserTagInput[], q: OracleQuery): AggregatesAnswer {
  const filters = (['origin', 'brand_id', 'category_id'] as const).filter((f) => q[f] !== undefined);
  const columns = ['1m_bucket', 'action', ...filters, ...q.aggregates.map((a) => a.toLowerCase())];
  const rows: string[][] = [];
  for (let bucket = q.fromMs; bucket < q.toMs; bucket += 60_000) {
    let count = 0n;
    let sum = 0n;
    for (const t of tags) {
      const ms = Date.parse(t.time);
      if (ms < bucket || ms >= bucket + 60_000 || t.action !== q.action) continue;
      if (q.origin !== undefined && t.origin !== q.origin) continue;
      if (q.brand_id !== undefined && t.product_info.brand_id !== q.brand_id) continue;
      if (q.category_id !== undefined && t.product_info.category_id !== q.category_id) continue;
      count += 1n;
      sum += BigInt(t.product_info.price);
    }
    const row = [new Date(bucket).toISOString().slice(0, 19), q.action, ...filters.map((f) => q[f] as string)];
    for (const a of q.aggregates) row.push(a === 'COUNT' ? count.toString() : sum.toString());
    rows.push(row);
  }
  return { columns, rows };
}

/** The query string of an oracle query, for GET/POST /aggregates. */
export function aggregatesQueryString(q: OracleQuery): string {
  const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
  const params = new URLSearchParams({ time_range: `${iso(q.fromMs)}_${iso(q.toMs)}`, action: q.action });
  for (const a of q.aggregates) params.append('aggregates', a);
  for (const f of ['origin', 'brand_id', 'category_id'] as const) if (q[f] !== undefined) params.set(f, q[f] as string);
  return params.toString();
}

/** Every shape of query: both actions, all 8 filter subsets, both aggregates in both orders (and each alone). */
export function allQueryShapes(fromMs: number, toMs: number): OracleQuery[] {
  const orders: Array<Array<'COUNT' | 'SUM_PRICE'>> = [['COUNT'], ['SUM_PRICE'], ['COUNT', 'SUM_PRICE'], ['SUM_PRICE', 'COUNT']];
  const queries: OracleQuery[] = [];
  let k = 0;
  for (const action of ['VIEW', 'BUY'] as const) {
    for (let mask = 0; mask < 8; mask++) {
      for (const aggregates of orders) {
        k++;
        queries.push({
          fromMs,
          toMs,
          action,
          aggregates,
          ...(mask & 1 ? { origin: STREAM_ORIGINS[k % STREAM_ORIGINS.length] as string } : {}),
          ...(mask & 2 ? { brand_id: STREAM_BRANDS[k % STREAM_BRANDS.length] as string } : {}),
          ...(mask & 4 ? { category_id: STREAM_CATEGORIES[k % STREAM_CATEGORIES.length] as string } : {}),
        });
      }
    }
  }
  return queries;
}
