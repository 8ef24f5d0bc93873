import { type Aggregate, type Filter, MS_PER_MINUTE, minuteOf } from '@usertags/contracts';
import type { Ledger } from './ledger.ts';
import { type AggregatesQuestion, expectedAggregates } from './oracle/aggregates.ts';
import type { Expected } from './oracle/expected.ts';
import { expectedProfile } from './oracle/profiles.ts';
import { rngAt, STREAMS } from './random.ts';
import { ACTION_NAMES, brandName, CARDINALITIES, categoryName, cookieName, originName, tagRecord } from './workload.ts';

/** A query ready to send: where, and the answer it must get (or why none can be known). */
export interface PlannedQuery {
  /** Path and query string. */
  readonly path: string;
  readonly expected: Expected<unknown>;
}

/** What the planner may rely on at the moment a query is issued. */
export interface PlanContext {
  readonly ledger: Ledger;
  /**
   * How many tags from the first had all been answered (or had timed out)
   * by the query's freshness bound: the newest data worth asking about.
   */
  readonly horizon: number;
  /** Tags answered 2xx at or before this clock time must be visible to this query. */
  readonly visibleBefore: number;
}

/** Share of profile queries about a cookie that never had a tag (the answer is two empty lists). */
const UNKNOWN_COOKIE_SHARE = 0.03;
/** Profile queries pick a tag this many tags (on average) before the horizon and ask about its cookie. */
const MEAN_LOOKBACK_TAGS = 20_000;
/** Aggregates ranges end at most this many minutes before the newest closed minute. */
export const AGGREGATES_LOOKBACK_MINUTES = 20;
/** Longest aggregates range asked (the published limit). */
export const AGGREGATES_MAX_MINUTES = 10;

/** `2022-03-01T00:00:00.000` — a profile range end (UTC, millisecond precision, no `Z`). */
export function profileInstant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

/** `2022-03-01T00:00:00` — an aggregates range end (UTC, second precision, no `Z`). */
export function aggregatesInstant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/**
 * Profile query number `q` of the seed, or undefined while no tag is old
 * enough. The draws come from the seed, so the same run asks the same
 * questions; the cookie is that of a tag a little before the freshness
 * horizon (busy cookies are asked about more often, as their tags are more
 * numerous), and the range is one of several shapes around that tag's time.
 */
export function planProfileQuery(q: number, ctx: PlanContext): PlannedQuery | undefined {
  const { ledger, horizon } = ctx;
  if (horizon <= 0) return undefined;
  const shape = ledger.shape;
  const start = shape.startMs;
  const rnd = rngAt(shape.seed, STREAMS.profileQueries, q);
  const upTo = (n: number) => Math.floor(rnd() * n);
  let rank: number;
  let fromMs: number;
  let toMs: number;
  if (rnd() < UNKNOWN_COOKIE_SHARE) {
    rank = shape.cookies + 1 + upTo(1_000_000_000);
    fromMs = start - upTo(3_600_000);
    toMs = start + horizon;
  } else {
    const back = Math.floor(-Math.log(1 - rnd()) * MEAN_LOOKBACK_TAGS);
    const j = Math.max(0, horizon - 1 - back);
    const tagJ = start + j;
    rank = tagRecord(shape, j).cookie;
    const s = rnd();
    if (s < 0.35) {
      // Everything up to and including the tag.
      fromMs = rnd() < 0.5 ? start : start - upTo(3_600_000);
      toMs = tagJ + 1;
    } else if (s < 0.6) {
      // From an older tag of the same cookie (or a little before it) to the tag (excluded or included).
      let u = j;
      for (let steps = 1 + upTo(250); steps > 0; steps--) {
        const p = ledger.previous(u);
        if (p < 0) break;
        u = p;
      }
      fromMs = start + u - (rnd() < 0.5 ? 0 : upTo(1000));
      toMs = tagJ + (rnd() < 0.5 ? 0 : 1);
    } else if (s < 0.75) {
      // The last minutes before the freshness horizon.
      toMs = start + horizon;
      fromMs = toMs - 1 - upTo(120_000);
    } else if (s < 0.9) {
      // A few milliseconds around the tag.
      fromMs = tagJ - upTo(50);
      toMs = tagJ + 1 + upTo(50);
    } else {
      // The gap between the tag and the cookie's previous tag of the same action.
      const p = ledger.previous(j);
      fromMs = p < 0 ? start - 60_000 : start + p + 1;
      toMs = tagJ;
    }
  }
  if (toMs <= fromMs) toMs = fromMs + 1;
  const l = rnd();
  const limit = l < 0.35 ? undefined : l < 0.55 ? 1 + upTo(5) : l < 0.85 ? 1 + upTo(200) : l < 0.95 ? 200 : 201 + upTo(1000);
  const cookie = cookieName(rank, shape.cookieSalt ?? 0);
  const expected = expectedProfile(
    { cookie, fromMs, toMs, limit: limit ?? 200 },
    ledger.history(rank, 0, ctx.visibleBefore),
    ledger.history(rank, 1, ctx.visibleBefore),
  );
  const range = `${profileInstant(fromMs)}_${profileInstant(toMs)}`;
  const path = `/user_profiles/${encodeURIComponent(cookie)}?time_range=${range}${limit === undefined ? '' : `&limit=${limit}`}`;
  return { path, expected };
}

const AGGREGATE_ORDERS: ReadonlyArray<readonly Aggregate[]> = [['COUNT'], ['SUM_PRICE'], ['COUNT', 'SUM_PRICE'], ['SUM_PRICE', 'COUNT']];
const SPELLINGS: Record<Aggregate, readonly string[]> = {
  COUNT: ['COUNT', 'count', 'Count'],
  SUM_PRICE: ['SUM_PRICE', 'sum_price', 'Sum_Price'],
};
const FILTER_VALUES: Record<Filter, { readonly size: number; readonly name: (k: number) => string }> = {
  origin: { size: CARDINALITIES.origins, name: originName },
  brand_id: { size: CARDINALITIES.brands, name: brandName },
  category_id: { size: CARDINALITIES.categories, name: categoryName },
};

/**
 * Aggregates query number `q` of the seed, or undefined while no minute of
 * the stream is closed and old enough. The range (1–10 minutes) ends on a
 * closed minute at most 20 minutes before the newest one; each filter is
 * present with probability 1/2, usually with the value of a tag in the range
 * (so answers are rarely all zeros); aggregates come in any order and letter case.
 */
export function planAggregatesQuery(q: number, ctx: PlanContext): PlannedQuery | undefined {
  const { ledger, horizon } = ctx;
  const shape = ledger.shape;
  const start = shape.startMs;
  const firstMinute = minuteOf(start);
  const newestClosed = minuteOf(start + horizon);
  const closed = (newestClosed - firstMinute) / MS_PER_MINUTE;
  if (closed < 1) return undefined;
  const rnd = rngAt(shape.seed, STREAMS.aggregatesQueries, q);
  const upTo = (n: number) => Math.floor(rnd() * n);
  const toMs = newestClosed - upTo(Math.min(closed, AGGREGATES_LOOKBACK_MINUTES)) * MS_PER_MINUTE;
  // Never before the run's first minute: the run knows only its own tags, and the deployment may hold
  // another run's in the minutes before (a later run against the same system, as the fault drills do).
  const fromMs = Math.max(firstMinute, toMs - (1 + upTo(AGGREGATES_MAX_MINUTES)) * MS_PER_MINUTE);
  const lo = Math.max(0, fromMs - start);
  const hi = Math.min(horizon, toMs - start);
  const ref = tagRecord(shape, lo + upTo(hi - lo));
  const action = ACTION_NAMES[rnd() < 0.7 ? ref.action : upTo(2)] as 'VIEW' | 'BUY';
  const aggregates = AGGREGATE_ORDERS[upTo(AGGREGATE_ORDERS.length)] as readonly Aggregate[];
  const spelled = aggregates.map((a) => SPELLINGS[a][rnd() < 0.6 ? 0 : 1 + upTo(2)] as string);
  const refValue: Record<Filter, number> = { origin: ref.origin, brand_id: ref.brand, category_id: ref.category };
  const filters: Partial<Record<Filter, string>> = {};
  for (const f of ['origin', 'brand_id', 'category_id'] as const) {
    if (rnd() >= 0.5) continue;
    const v = rnd();
    const { size, name } = FILTER_VALUES[f];
    filters[f] = v < 0.85 ? name(refValue[f]) : v < 0.98 ? name(upTo(size)) : name(size + upTo(1000));
  }
  const question: AggregatesQuestion = { fromMs, toMs, action, aggregates, filters };
  const expected = expectedAggregates(question, ledger.table(ctx.visibleBefore));
  const params = new URLSearchParams({ time_range: `${aggregatesInstant(fromMs)}_${aggregatesInstant(toMs)}`, action });
  for (const a of spelled) params.append('aggregates', a);
  for (const [f, v] of Object.entries(filters)) params.set(f, v);
  return { path: `/aggregates?${params}`, expected };
}
