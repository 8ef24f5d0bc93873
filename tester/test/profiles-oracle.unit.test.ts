import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserTagInput } from '@usertags/contracts';
import { expectedProfile, type HistoryEntry, type Knowledge } from '../src/index.ts';

// Hand-made histories: every expected answer below is written out by hand.
const T0 = Date.parse('2022-03-01T00:00:00.000Z');

function tag(second: number, action: 'VIEW' | 'BUY', productId: string | number = `p${second}`): UserTagInput {
  return {
    time: new Date(T0 + second * 1000).toISOString(),
    cookie: 'c/1+',
    country: 'PL',
    device: 'PC',
    action,
    origin: 'o',
    product_info: { product_id: productId, brand_id: 'b', category_id: 'k', price: second },
  };
}

/** A history newest first; `knowledge` per tag defaults to visible. */
function history(tags: UserTagInput[], knowledge: Record<string, Knowledge> = {}): HistoryEntry[] {
  return [...tags]
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))
    .map((t) => ({ timeMs: Date.parse(t.time), knowledge: knowledge[t.time] ?? 'visible', tag: () => t }));
}

const at = (second: number) => T0 + second * 1000;
const iso = (second: number) => new Date(at(second)).toISOString();

const views = [tag(1, 'VIEW'), tag(2, 'VIEW', 2), tag(3, 'VIEW')];
const buys = [tag(1.5, 'BUY')];

describe('the profile oracle', () => {
  it('lists every tag of the range newest first, per action', () => {
    const r = expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 200 }, history(views), history(buys));
    assert.deepEqual(r, {
      determined: true,
      answer: { cookie: 'c/1+', views: [tag(3, 'VIEW'), tag(2, 'VIEW', 2), tag(1, 'VIEW')], buys: [tag(1.5, 'BUY')] },
    });
  });

  it('includes the start of the range and excludes its end', () => {
    const r = expectedProfile({ cookie: 'c/1+', fromMs: at(1), toMs: at(3), limit: 200 }, history(views), history(buys));
    assert.deepEqual(r, {
      determined: true,
      answer: { cookie: 'c/1+', views: [tag(2, 'VIEW', 2), tag(1, 'VIEW')], buys: [tag(1.5, 'BUY')] },
    });
  });

  it('keeps the newest `limit` tags of each list', () => {
    const r = expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 2 }, history(views), history(buys));
    assert.deepEqual(r, {
      determined: true,
      answer: { cookie: 'c/1+', views: [tag(3, 'VIEW'), tag(2, 'VIEW', 2)], buys: [tag(1.5, 'BUY')] },
    });
  });

  it('answers two empty lists for a cookie without tags', () => {
    const r = expectedProfile({ cookie: 'nobody', fromMs: at(0), toMs: at(10), limit: 5 }, [], []);
    assert.deepEqual(r, { determined: true, answer: { cookie: 'nobody', views: [], buys: [] } });
  });

  it('leaves out tags that were certainly not stored', () => {
    const r = expectedProfile(
      { cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 200 },
      history(views, { [iso(2)]: 'absent' }),
      history(buys),
    );
    assert.deepEqual(r, { determined: true, answer: { cookie: 'c/1+', views: [tag(3, 'VIEW'), tag(1, 'VIEW')], buys: [tag(1.5, 'BUY')] } });
  });

  it('is undetermined when a tag of unknown fate lies in the range', () => {
    const r = expectedProfile(
      { cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 200 },
      history(views, { [iso(2)]: 'unknown' }),
      history(buys),
    );
    assert.equal(r.determined, false);
  });

  it('ignores a tag of unknown fate older than the `limit` newest ones, or outside the range', () => {
    const older = expectedProfile(
      { cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 1 },
      history(views, { [iso(1)]: 'unknown' }),
      history(buys),
    );
    assert.deepEqual(older, { determined: true, answer: { cookie: 'c/1+', views: [tag(3, 'VIEW')], buys: [tag(1.5, 'BUY')] } });
    const outside = expectedProfile(
      { cookie: 'c/1+', fromMs: at(0), toMs: at(3), limit: 200 },
      history(views, { [iso(3)]: 'unknown' }),
      history(buys),
    );
    assert.deepEqual(outside, {
      determined: true,
      answer: { cookie: 'c/1+', views: [tag(2, 'VIEW', 2), tag(1, 'VIEW')], buys: [tag(1.5, 'BUY')] },
    });
  });

  it('serves a limit above 200 as 200', () => {
    const many = Array.from({ length: 210 }, (_, i) => tag(i, 'VIEW'));
    const r = expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(1000), limit: 500 }, history(many), []);
    assert.ok(r.determined);
    assert.equal(r.answer.views.length, 200);
    assert.deepEqual(r.answer.views[0], tag(209, 'VIEW'));
    assert.deepEqual(r.answer.views[199], tag(10, 'VIEW'));
  });

  describe('with more than 200 tags, of which the system must keep only the newest 200', () => {
    // 250 visible views at seconds 0..249: number 1 from the newest is second 249, number 200 is second 50.
    const many = history(Array.from({ length: 250 }, (_, i) => tag(i, 'VIEW')));

    it('answers about the newest 200', () => {
      const r = expectedProfile({ cookie: 'c/1+', fromMs: at(50), toMs: at(53), limit: 200 }, many, []);
      assert.deepEqual(r, {
        determined: true,
        answer: { cookie: 'c/1+', views: [tag(52, 'VIEW'), tag(51, 'VIEW'), tag(50, 'VIEW')], buys: [] },
      });
    });

    it('is undetermined about older ones, which the system may have dropped', () => {
      const r = expectedProfile({ cookie: 'c/1+', fromMs: at(40), toMs: at(51), limit: 200 }, many, []);
      assert.equal(r.determined, false);
    });

    it('is determined when the `limit` newest tags of the range are all among the newest 200', () => {
      const r = expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(52), limit: 2 }, many, []);
      assert.deepEqual(r, { determined: true, answer: { cookie: 'c/1+', views: [tag(51, 'VIEW'), tag(50, 'VIEW')], buys: [] } });
    });

    it('counts newer tags of unknown fate, which may push a tag out of the newest 200', () => {
      // 195 visible (seconds 0..194) and 10 newer of unknown fate (seconds 195..204): second 5 is number 200 of all 205.
      const mixed = history(
        Array.from({ length: 205 }, (_, i) => tag(i, 'VIEW')),
        Object.fromEntries(Array.from({ length: 10 }, (_, i) => [iso(195 + i), 'unknown' as Knowledge])),
      );
      const kept = expectedProfile({ cookie: 'c/1+', fromMs: at(5), toMs: at(6), limit: 200 }, mixed, []);
      assert.deepEqual(kept, { determined: true, answer: { cookie: 'c/1+', views: [tag(5, 'VIEW')], buys: [] } });
      const mayBeDropped = expectedProfile({ cookie: 'c/1+', fromMs: at(4), toMs: at(5), limit: 200 }, mixed, []);
      assert.equal(mayBeDropped.determined, false);
    });

    it('does not count tags that were certainly not stored', () => {
      // The 60 newest are absent, so second 0 is number 190 of what may be stored.
      const absentNewest = history(
        Array.from({ length: 250 }, (_, i) => tag(i, 'VIEW')),
        Object.fromEntries(Array.from({ length: 60 }, (_, i) => [iso(190 + i), 'absent' as Knowledge])),
      );
      const r = expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(1), limit: 200 }, absentNewest, []);
      assert.deepEqual(r, { determined: true, answer: { cookie: 'c/1+', views: [tag(0, 'VIEW')], buys: [] } });
    });
  });

  it('is undetermined when two listed tags share a time (their order is unspecified)', () => {
    const tied = [tag(1, 'VIEW', 'a'), tag(1, 'VIEW', 'b'), tag(2, 'VIEW')];
    assert.equal(expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 200 }, history(tied), []).determined, false);
    assert.equal(expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 2 }, history(tied), []).determined, false);
    assert.deepEqual(expectedProfile({ cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 1 }, history(tied), []), {
      determined: true,
      answer: { cookie: 'c/1+', views: [tag(2, 'VIEW')], buys: [] },
    });
  });

  it('needs both lists determined', () => {
    const r = expectedProfile(
      { cookie: 'c/1+', fromMs: at(0), toMs: at(10), limit: 200 },
      history(views),
      history(buys, { [iso(1.5)]: 'unknown' }),
    );
    assert.equal(r.determined, false);
    assert.match(r.determined ? '' : r.reason, /^buys: /);
  });
});
