import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserTag } from '@usertags/contracts';
import { CARDINALITIES, cookieName, sentBody, tagRecord, userTag, type WorkloadShape } from '../src/index.ts';

const shape: WorkloadShape = { seed: 7, startMs: Date.parse('2022-03-01T00:00:00.000Z'), cookies: 1_000_000, cookieSkew: 0.9 };

describe('the reference workload', () => {
  it('gives the same tags for the same seed, and other tags for another seed', () => {
    for (const i of [0, 1, 999, 123_456, 10_000_000]) assert.deepEqual(tagRecord(shape, i), tagRecord(shape, i));
    const other = { ...shape, seed: 8 };
    const same = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((i) => sentBody(tagRecord(shape, i)) === sentBody(tagRecord(other, i)));
    assert.deepEqual(same, []);
  });

  it('advances event time by exactly 1 ms per tag from the start instant', () => {
    assert.equal(userTag(tagRecord(shape, 0)).time, '2022-03-01T00:00:00.000Z');
    assert.equal(userTag(tagRecord(shape, 1)).time, '2022-03-01T00:00:00.001Z');
    assert.equal(userTag(tagRecord(shape, 61_234)).time, '2022-03-01T00:01:01.234Z');
  });

  it('sends valid tags, some with a time without fraction, and gives them back in the canonical form', () => {
    let short = 0;
    for (let i = 0; i < 20_000; i++) {
      const rec = tagRecord(shape, i);
      const sent = JSON.parse(sentBody(rec));
      const parsed = UserTag.safeParse(sent);
      assert.ok(parsed.success, JSON.stringify(sent));
      assert.deepEqual(parsed.data, userTag(rec));
      if (!String(sent.time).includes('.')) {
        short++;
        assert.match(sent.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
    }
    assert.ok(short >= 3 && short <= 17, `${short} of the 20 whole-second tags were sent without a fraction`);
  });

  it('draws every dimension from the reference cardinalities, product ids as strings and as numbers', () => {
    const seen = { country: new Set(), device: new Set(), action: new Set(), origin: new Set(), brand: new Set(), category: new Set() };
    const productIdTypes = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const t = userTag(tagRecord(shape, i));
      seen.country.add(t.country);
      seen.device.add(t.device);
      seen.action.add(t.action);
      seen.origin.add(t.origin);
      seen.brand.add(t.product_info.brand_id);
      seen.category.add(t.product_info.category_id);
      productIdTypes.add(typeof t.product_info.product_id);
      assert.ok(Number.isInteger(t.product_info.price));
    }
    assert.deepEqual(Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.size])), {
      country: CARDINALITIES.countries,
      device: 3,
      action: 2,
      origin: CARDINALITIES.origins,
      brand: CARDINALITIES.brands,
      category: CARDINALITIES.categories,
    });
    assert.deepEqual([...productIdTypes].sort(), ['number', 'string']);
  });

  it('makes some cookies busy enough to pass 200 tags of each action', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const t = userTag(tagRecord(shape, i));
      const key = `${t.cookie} ${t.action}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const busiest = cookieName(1);
    assert.ok((counts.get(`${busiest} VIEW`) ?? 0) > 200);
    assert.ok((counts.get(`${busiest} BUY`) ?? 0) > 200);
    const cookies = new Set([...counts.keys()].map((k) => k.split(' ')[0]));
    assert.ok(cookies.size > 30_000, `${cookies.size} distinct cookies in 100,000 tags: a long tail`);
  });

  it('gives distinct ranks distinct cookie ids that need percent-encoding in a path now and then', () => {
    const ids = new Set<string>();
    for (let r = 1; r <= 200_000; r++) ids.add(cookieName(r));
    assert.equal(ids.size, 200_000);
    assert.ok([...ids].some((id) => id.includes('/') || id.includes('+')));
  });
});

describe('cookie salt', () => {
  it('keeps the default ids at salt 0 and gives another salt another set of ids', () => {
    const shape = { seed: 1, startMs: 0, cookies: 1000, cookieSkew: 0.9 };
    assert.equal(userTag(tagRecord(shape, 5)).cookie, cookieName(tagRecord(shape, 5).cookie));
    const salted = { ...shape, cookieSalt: 7 };
    assert.equal(userTag(tagRecord(salted, 5)).cookie, cookieName(tagRecord(salted, 5).cookie, 7));
    const plain = new Set(Array.from({ length: 5000 }, (_, r) => cookieName(r + 1)));
    const other = Array.from({ length: 5000 }, (_, r) => cookieName(r + 1, 7));
    assert.equal(new Set(other).size, 5000, 'still one id per rank');
    assert.equal(other.filter((id) => plain.has(id)).length, 0, 'no id shared with the default set');
  });
});
