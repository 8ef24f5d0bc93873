import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AggregatesQuery, parseAggregatesQuery, parseProfileQuery, type UserTagInput } from '@usertags/contracts';
import { expectedProfile as bruteProfile } from '@usertags/testkit';
import { planAggregatesQuery, planProfileQuery } from '../src/core/plans.ts';
import { Ledger, mix32, TagState, tagRecord, userTag, type WorkloadShape } from '../src/index.ts';

// 150,000 tags (2.5 minutes of event time) over 2,000 cookies, so the busiest
// pass 200 tags per action: 96.5 % accepted, 3 % certainly absent, 0.5 % of unknown fate.
const shape: WorkloadShape = { seed: 3, startMs: Date.parse('2022-03-01T00:00:00.000Z'), cookies: 2000, cookieSkew: 0.9 };
const N = 150_000;
const ledger = new Ledger(shape);
const visible: UserTagInput[] = [];
const maybe: UserTagInput[] = [];
for (let i = 0; i < N; i++) {
  const rec = tagRecord(shape, i);
  ledger.record(rec);
  const r = mix32(i) % 1000;
  const state = r < 965 ? TagState.accepted : r < 995 ? TagState.absent : TagState.uncertain;
  ledger.settle(i, state, 0);
  if (state === TagState.accepted) visible.push(userTag(rec));
  if (state !== TagState.absent) maybe.push(userTag(rec));
}
const ctx = { ledger, horizon: N, visibleBefore: 1 };

function byCookie(tags: UserTagInput[]): Map<string, UserTagInput[]> {
  const m = new Map<string, UserTagInput[]>();
  for (const t of tags) m.set(t.cookie, [...(m.get(t.cookie) ?? []), t]);
  return m;
}
const timed = (tags: UserTagInput[]) => tags.map((tag) => ({ ms: Date.parse(tag.time), tag }));
const visibleTimed = timed(visible);
const maybeTimed = timed(maybe);
const visibleByCookie = byCookie(visible);
const maybeByCookie = byCookie(maybe);

/** What a system keeping every tag answers (the brute-force oracle of testkit keeps exactly 200). */
function keepAll(tags: UserTagInput[], cookie: string, fromMs: number, toMs: number, limit: number) {
  const list = (action: string) =>
    tags
      .filter((t) => t.action === action && Date.parse(t.time) >= fromMs && Date.parse(t.time) < toMs)
      .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
      .slice(0, limit);
  return { cookie, views: list('VIEW'), buys: list('BUY') };
}

/** The spec's SQL over a list of tags, written out plainly (one pass, BigInt sums). */
function bruteAggregates(tags: ReadonlyArray<{ ms: number; tag: UserTagInput }>, q: AggregatesQuery) {
  const present = (['origin', 'brand_id', 'category_id'] as const).filter((f) => q.filters[f] !== undefined);
  const buckets = new Map<number, { count: number; sum: bigint }>();
  for (let m = q.range.fromMs; m < q.range.toMs; m += 60_000) buckets.set(m, { count: 0, sum: 0n });
  for (const { ms, tag: t } of tags) {
    if (ms < q.range.fromMs || ms >= q.range.toMs || t.action !== q.action) continue;
    if (q.filters.origin !== undefined && t.origin !== q.filters.origin) continue;
    if (q.filters.brand_id !== undefined && t.product_info.brand_id !== q.filters.brand_id) continue;
    if (q.filters.category_id !== undefined && t.product_info.category_id !== q.filters.category_id) continue;
    const b = buckets.get(ms - (ms % 60_000)) as { count: number; sum: bigint };
    b.count++;
    b.sum += BigInt(t.product_info.price);
  }
  return {
    columns: ['1m_bucket', 'action', ...present, ...q.aggregates.map((a) => a.toLowerCase())],
    rows: [...buckets].map(([m, b]) => [
      new Date(m).toISOString().slice(0, 19),
      q.action,
      ...present.map((f) => q.filters[f] as string),
      ...q.aggregates.map((a) => (a === 'COUNT' ? String(b.count) : String(b.sum))),
    ]),
  };
}

function splitPath(path: string): { path: string; params: URLSearchParams } {
  const q = path.indexOf('?');
  return { path: path.slice(0, q), params: new URLSearchParams(path.slice(q + 1)) };
}

describe('query plans', () => {
  it('are the same for the same seed and state', () => {
    for (let q = 0; q < 20; q++) {
      assert.deepEqual(planProfileQuery(q, ctx), planProfileQuery(q, ctx));
      assert.deepEqual(planAggregatesQuery(q, ctx), planAggregatesQuery(q, ctx));
    }
  });

  it('wait until some tag is old enough, and aggregates until a minute is closed', () => {
    assert.equal(planProfileQuery(0, { ...ctx, horizon: 0 }), undefined);
    assert.equal(planAggregatesQuery(0, { ...ctx, horizon: 59_999 }), undefined);
    assert.notEqual(planAggregatesQuery(0, { ...ctx, horizon: 60_000 }), undefined);
  });

  it('expect for profiles what every system the spec allows answers, whenever they expect anything', () => {
    let determined = 0;
    const limits = new Set<string>();
    for (let q = 0; q < 400; q++) {
      const plan = planProfileQuery(q, ctx) ?? assert.fail('planned');
      const { path, params } = splitPath(plan.path);
      const parsed = parseProfileQuery(decodeURIComponent(path.slice('/user_profiles/'.length)), params);
      assert.ok(parsed.ok, plan.path);
      const { cookie, range, limit } = parsed.value;
      limits.add(params.get('limit') === null ? 'none' : Number(params.get('limit')) > 200 ? 'above 200' : 'up to 200');
      if (!plan.expected.determined) continue;
      determined++;
      const answers = [
        bruteProfile(visibleByCookie.get(cookie) ?? [], cookie, range.fromMs, range.toMs, limit),
        bruteProfile(maybeByCookie.get(cookie) ?? [], cookie, range.fromMs, range.toMs, limit),
        keepAll(visibleByCookie.get(cookie) ?? [], cookie, range.fromMs, range.toMs, limit),
        keepAll(maybeByCookie.get(cookie) ?? [], cookie, range.fromMs, range.toMs, limit),
      ];
      for (const a of answers) assert.deepEqual(plan.expected.answer, a, plan.path);
    }
    assert.ok(determined > 150, `${determined} of 400 determined`);
    assert.deepEqual([...limits].sort(), ['above 200', 'none', 'up to 200']);
  });

  it('expect for aggregates what the spec’s SQL gives, with or without the tags of unknown fate, and vary every part of the query', () => {
    let determined = 0;
    const shapes = new Set<string>();
    for (let q = 0; q < 150; q++) {
      const plan = planAggregatesQuery(q, ctx) ?? assert.fail('planned');
      const { path, params } = splitPath(plan.path);
      assert.equal(path, '/aggregates');
      assert.match(params.get('time_range') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:00_\d{4}-\d\d-\d\dT\d\d:\d\d:00$/);
      const parsed = parseAggregatesQuery(params, 10);
      assert.ok(parsed.ok, plan.path);
      const { range, action, filters } = parsed.value;
      assert.ok(range.toMs <= shape.startMs + 120_000, 'only closed minutes');
      assert.ok(range.fromMs >= Math.floor(shape.startMs / 60_000) * 60_000, 'never before the run’s first minute');
      shapes.add(`${action} ${Object.keys(filters).sort().join('+')}`);
      shapes.add(params.getAll('aggregates').join(','));
      shapes.add(`${(range.toMs - range.fromMs) / 60_000} min`);
      if (!plan.expected.determined) continue;
      // The brute force is slow: compare the first 40 determined answers (the plans still vary all 150 queries).
      if (++determined > 40) continue;
      assert.deepEqual(plan.expected.answer, bruteAggregates(visibleTimed, parsed.value), plan.path);
      assert.deepEqual(plan.expected.answer, bruteAggregates(maybeTimed, parsed.value), plan.path);
    }
    assert.ok(determined > 40, `${determined} of 150 determined`);
    for (const action of ['VIEW', 'BUY'])
      for (const filters of [
        '',
        'origin',
        'brand_id',
        'category_id',
        'brand_id+origin',
        'category_id+origin',
        'brand_id+category_id',
        'brand_id+category_id+origin',
      ])
        assert.ok(shapes.has(`${action} ${filters}`), `${action} ${filters}`);
    // The stream has two closed minutes, and ranges start no earlier than its first.
    assert.ok(shapes.has('1 min') && shapes.has('2 min'));
    assert.ok(
      [...shapes].some((s) => /count|Count/.test(s) && /sum_price|Sum_Price/.test(s)),
      'aggregates in other letter cases',
    );
  });
});
