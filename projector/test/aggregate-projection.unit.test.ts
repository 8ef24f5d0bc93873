import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aggregateFieldsOf, parseUserTag, type UserTag } from '@usertags/contracts';
import { groupingOf } from '@usertags/read-models';
import { aggregateStream, allQueryShapes, expectedAggregates } from '@usertags/testkit';
import { AggregateBatch } from '../src/core/aggregate-projection.ts';

const START = Date.UTC(2022, 2, 22, 12, 0);
const tags = aggregateStream({ seed: 7, count: 3000, startMs: START, minutes: 5 });
const parsed: UserTag[] = tags.map((t) => {
  const r = parseUserTag(t);
  assert.ok(r.ok);
  return r.value;
});

describe('the aggregate projection', () => {
  const batch = new AggregateBatch();
  for (const tag of parsed) batch.add(aggregateFieldsOf(tag));
  const rows = batch.increments();

  it('adds every event to exactly one row of each stored grouping', () => {
    assert.deepEqual([...new Set(rows.map((r) => r.grouping))].sort(), [0, 1, 2, 4, 6, 7]);
    for (const g of [0, 1, 2, 4, 6, 7]) {
      const total = rows.filter((r) => r.grouping === g).reduce((s, r) => s + r.count, 0);
      assert.equal(total, tags.length, `grouping ${g}`);
    }
    assert.equal(batch.events, tags.length);
  });

  it('answers every query shape from the rows of one grouping, equal to the oracle', () => {
    for (const q of allQueryShapes(START, START + 5 * 60_000)) {
      const grouping = groupingOf(q);
      const expected = expectedAggregates(tags, q);
      for (const [i, row] of expected.rows.entries()) {
        const bucketMs = START + i * 60_000;
        const matching = rows.filter(
          (r) =>
            r.grouping === grouping &&
            r.action === q.action &&
            r.bucketMs === bucketMs &&
            (q.origin === undefined || r.origin === q.origin) &&
            (q.brand_id === undefined || r.brandId === q.brand_id) &&
            (q.category_id === undefined || r.categoryId === q.category_id),
        );
        // A stored shape reads one row a minute; origin+brand and origin+category read the origin's all-three rows.
        const ownGrouping = grouping !== 7 || (q.brand_id !== undefined && q.category_id !== undefined);
        if (ownGrouping) assert.ok(matching.length <= 1, 'at most one row per minute');
        else assert.ok(q.origin !== undefined, 'only origin-led shapes read the all-three rows');
        const sum = (f: (r: (typeof rows)[number]) => number) => matching.reduce((s, r) => s + f(r), 0);
        const got = q.aggregates.map((a) => String(a === 'COUNT' ? sum((r) => r.count) : sum((r) => r.sumPrice)));
        assert.deepEqual(got, row.slice(row.length - q.aggregates.length), JSON.stringify(q));
      }
    }
  });

  it('keeps values that differ only in separators apart', () => {
    const b = new AggregateBatch();
    const base = parsed[0] as UserTag;
    b.add(aggregateFieldsOf({ ...base, origin: 'a_b', product_info: { ...base.product_info, brand_id: 'c' } }));
    b.add(aggregateFieldsOf({ ...base, origin: 'a', product_info: { ...base.product_info, brand_id: 'b_c' } }));
    assert.equal(b.increments().filter((r) => r.grouping === 7).length, 2);
  });

  it('gives the same rows whatever the order of the events', () => {
    const reversed = new AggregateBatch();
    for (const tag of [...parsed].reverse()) reversed.add(aggregateFieldsOf(tag));
    const key = (r: (typeof rows)[number]) => JSON.stringify([r.bucketMs, r.action, r.grouping, r.origin, r.brandId, r.categoryId]);
    const sorted = (xs: typeof rows) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    assert.deepEqual(sorted(reversed.increments()), sorted(rows));
  });
});
