import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AggregateStore } from '../src/aggregates/aggregate-store.ts';

export type { AggregateStore };

import type { AggregateIncrement } from '../src/aggregates/aggregate-rows.ts';
import { OffsetConflict } from '../src/aggregates/aggregate-store.ts';
import { type AggregateVersions, LIVE_VERSION_CACHE_MS } from '../src/aggregates/sql-aggregate-store.ts';

const T0 = Date.UTC(2022, 2, 22, 12, 0);
const MIN = 60_000;

function inc(partial: Partial<AggregateIncrement>): AggregateIncrement {
  return { bucketMs: T0, action: 'BUY', grouping: 0, origin: '', brandId: '', categoryId: '', count: 1, sumPrice: 10, ...partial };
}

/** The behaviour every AggregateStore adapter must have; each adapter's test calls this with a fresh store. */
export interface AggregateStoreFixture {
  /** The store of the live version. */
  store: AggregateStore;
  /** The same database's versions, and a store fixed on one version (what a replay writes through). */
  versions: AggregateVersions;
  at(version: number): AggregateStore;
  cleanup(): Promise<void>;
}

export function describeAggregateStoreContract(name: string, open: () => Promise<AggregateStoreFixture>): void {
  describe(`AggregateStore contract: ${name}`, () => {
    let store: AggregateStore;
    let versions: AggregateVersions;
    let at: (version: number) => AggregateStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, versions, at, cleanup } = await open());
      await store.migrate();
      await store.migrate(); // migrating twice is harmless
    });
    after(() => cleanup());

    it('adds increments up and reads one total per minute in [from, to)', async () => {
      await store.apply(
        't',
        [inc({ bucketMs: T0 }), inc({ bucketMs: T0 + MIN, count: 2, sumPrice: -5 })],
        [{ partition: 0, expected: -1n, nextOffset: 3n }],
        T0 + MIN,
      );
      await store.apply('t', [inc({ bucketMs: T0, count: 4, sumPrice: 100 })], [{ partition: 0, expected: 3n, nextOffset: 5n }], T0 + MIN);
      const all = await store.readBuckets({ action: 'BUY', filters: {}, fromMs: T0, toMs: T0 + 2 * MIN });
      assert.deepEqual(all, [
        { bucketMs: T0, count: '5', sumPrice: '110' },
        { bucketMs: T0 + MIN, count: '2', sumPrice: '-5' },
      ]);
      const first = await store.readBuckets({ action: 'BUY', filters: {}, fromMs: T0, toMs: T0 + MIN });
      assert.equal(first.length, 1, 'the end of the range is excluded');
      assert.deepEqual(await store.readBuckets({ action: 'VIEW', filters: {}, fromMs: T0, toMs: T0 + 2 * MIN }), []);
      assert.deepEqual(await store.loadOffsets('t'), new Map([[0, 5n]]));
    });

    it('keeps sums exact past 2^53', async () => {
      const big = 2 ** 52;
      for (let i = 0; i < 3; i++) {
        await store.apply(
          'big',
          [inc({ bucketMs: T0, grouping: 1, origin: 'big', sumPrice: big })],
          [{ partition: 0, expected: i === 0 ? -1n : BigInt(i), nextOffset: BigInt(i + 1) }],
          T0,
        );
      }
      const [row] = await store.readBuckets({ action: 'BUY', filters: { origin: 'big' }, fromMs: T0, toMs: T0 + MIN });
      assert.equal(row?.sumPrice, (3n * 2n ** 52n).toString());
    });

    it('refuses a write whose expected offset is stale, and changes nothing', async () => {
      await store.apply('c', [inc({ grouping: 2, brandId: 'x' })], [{ partition: 1, expected: -1n, nextOffset: 10n }], T0);
      await assert.rejects(
        store.apply('c', [inc({ grouping: 2, brandId: 'x', count: 100 })], [{ partition: 1, expected: 7n, nextOffset: 20n }], T0),
        (e: unknown) => e instanceof OffsetConflict && e.partition === 1,
      );
      const [row] = await store.readBuckets({ action: 'BUY', filters: { brand_id: 'x' }, fromMs: T0, toMs: T0 + MIN });
      assert.equal(row?.count, '1');
      assert.equal((await store.loadOffsets('c')).get(1), 10n);
    });

    it('stores and filters on any string, NUL and backslashes included', async () => {
      const odd = ['a\u0000b', 'a\\0b', 'a\\\\', 'ünï_code', ''];
      for (const [i, origin] of odd.entries()) {
        await store.apply(
          's',
          [inc({ grouping: 1, origin, count: i + 1 })],
          [{ partition: 0, expected: i === 0 ? -1n : BigInt(i), nextOffset: BigInt(i + 1) }],
          T0,
        );
      }
      for (const [i, origin] of odd.entries()) {
        const [row] = await store.readBuckets({ action: 'BUY', filters: { origin }, fromMs: T0, toMs: T0 + MIN });
        assert.equal(row?.count, String(i + 1), JSON.stringify(origin));
      }
    });

    it('drops minutes before the horizon and reports it', async () => {
      await store.apply(
        'r',
        [inc({ grouping: 4, categoryId: 'old', bucketMs: T0 - 10 * MIN }), inc({ grouping: 4, categoryId: 'old', bucketMs: T0 })],
        [{ partition: 0, expected: -1n, nextOffset: 1n }],
        T0 + 5 * MIN,
      );
      await store.dropBefore(T0 - 5 * MIN);
      const rows = await store.readBuckets({ action: 'BUY', filters: { category_id: 'old' }, fromMs: T0 - 20 * MIN, toMs: T0 + MIN });
      assert.deepEqual(
        rows.map((r) => r.bucketMs),
        [T0],
      );
      const marks = await store.readWatermarks();
      assert.equal(marks.horizonMs, T0 - 5 * MIN);
      assert.equal(marks.newestEventMs, T0 + 5 * MIN);
    });

    it('is ready while its database answers', async () => {
      await store.checkReady();
    });

    it('builds a second version beside the live one, switches to it only once it has caught up, and drops the first', async () => {
      // Everything above went into version 1; the live store's offsets for topic 't' are at 5.
      assert.equal(await versions.live(), 1);
      await versions.prepare(2);
      const v2 = at(2);
      assert.deepEqual(await v2.loadOffsets('t'), new Map(), 'a new version starts empty');
      await v2.apply('t', [inc({ bucketMs: T0, count: 3, sumPrice: 30 })], [{ partition: 0, expected: -1n, nextOffset: 4n }], T0);
      assert.equal(await versions.switchTo(2, 't'), false, 'not while version 2 is behind the live one');
      assert.equal(await versions.live(), 1);
      await v2.apply('t', [inc({ bucketMs: T0, count: 2, sumPrice: 80 })], [{ partition: 0, expected: 4n, nextOffset: 5n }], T0);
      assert.equal(await versions.switchTo(2, 't'), true);
      assert.equal(await versions.live(), 2);

      // The live store follows: a write whose expected offsets are version 2's goes into version 2, one that
      // expects anything else is refused, and reads move over.
      await assert.rejects(
        store
          .apply('t', [inc({ count: 1000 })], [{ partition: 0, expected: 5n, nextOffset: 6n }], T0)
          .then(() => store.apply('t', [inc({ count: 1000 })], [{ partition: 0, expected: 3n, nextOffset: 6n }], T0)),
        OffsetConflict,
      );
      assert.deepEqual(await store.loadOffsets('t'), new Map([[0, 6n]]), 'the write that matched version 2 went into it');
      await new Promise((r) => setTimeout(r, LIVE_VERSION_CACHE_MS + 50));
      const [minute] = await store.readBuckets({ action: 'BUY', filters: {}, fromMs: T0, toMs: T0 + MIN });
      assert.equal(minute?.count, String(3 + 2 + 1000));
      await versions.drop(1);
      await assert.rejects(versions.drop(2), /live/);
      assert.equal(await versions.live(), 2);
    });
  });
}
