import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_TEXT_CODE_POINTS, parseUserTag } from '../src/index.ts';

const valid = {
  time: '2022-03-22T12:15:00.000Z',
  cookie: 'cookie-1',
  country: 'PL',
  device: 'PC',
  action: 'VIEW',
  origin: 'campaign_7',
  product_info: { product_id: '42', brand_id: 'nike', category_id: 'shoes', price: 1999 },
};

const withTime = (time: unknown) => ({ ...valid, time });
const withProduct = (patch: Record<string, unknown>) => ({ ...valid, product_info: { ...valid.product_info, ...patch } });

describe('a user tag', () => {
  it('accepts a tag exactly as the contract shows it and keeps every field', () => {
    const result = parseUserTag(valid);
    assert.ok(result.ok);
    assert.deepEqual(result.value, valid);
  });

  for (const [sent, canonical] of [
    ['2022-03-22T12:15:01Z', '2022-03-22T12:15:01.000Z'],
    ['2022-03-22T12:15:01.5Z', '2022-03-22T12:15:01.500Z'],
    ['2022-03-22T12:15:01.25Z', '2022-03-22T12:15:01.250Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
  ]) {
    it(`accepts time ${sent} and stores it as ${canonical}`, () => {
      const result = parseUserTag(withTime(sent));
      assert.ok(result.ok);
      assert.equal(result.value.time, canonical);
    });
  }

  it('stores every instant of years 0000–9999, sent with 0–3 fraction digits, in the form toISOString gives', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }),
        (date) => {
          const iso = date.toISOString();
          for (const digits of [3, 2, 1, 0]) {
            const sent = `${iso.slice(0, digits === 0 ? 19 : 20 + digits)}Z`;
            const result = parseUserTag(withTime(sent));
            assert.ok(result.ok, sent);
            assert.equal(result.value.time, new Date(Date.parse(sent)).toISOString(), sent);
          }
        },
      ),
    );
  });

  for (const bad of [
    '2022-03-22T12:15:00.000+01:00',
    '2022-03-22T12:15:00.000',
    '2022-03-22 12:15:00.000Z',
    '2022-03-22T12:15:00.0000Z',
    '2022-02-30T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '2022-03-22T24:00:00.000Z',
    '2022-03-22T12:60:00.000Z',
    '2022-03-22T12:15:60Z',
    '2022-13-01T00:00:00Z',
    '2022-3-22T12:15:00Z',
    '1647951300000',
    '',
  ]) {
    it(`rejects time ${JSON.stringify(bad)} naming the field`, () => {
      const result = parseUserTag(withTime(bad));
      assert.ok(!result.ok);
      assert.deepEqual(
        result.error.issues.map((i) => i.field),
        ['time'],
      );
    });
  }

  it('rejects a numeric time', () => {
    const result = parseUserTag(withTime(1647951300000));
    assert.ok(!result.ok);
    assert.equal(result.error.issues[0]?.field, 'time');
  });

  it('keeps a numeric product_id a number and a string one a string', () => {
    const numeric = parseUserTag(withProduct({ product_id: 42 }));
    const text = parseUserTag(withProduct({ product_id: '42' }));
    assert.ok(numeric.ok && text.ok);
    assert.equal(numeric.value.product_info.product_id, 42);
    assert.equal(text.value.product_info.product_id, '42');
  });

  it('accepts prices at both ends of the signed 32-bit range', () => {
    assert.ok(parseUserTag(withProduct({ price: 2147483647 })).ok);
    assert.ok(parseUserTag(withProduct({ price: -2147483648 })).ok);
  });

  const invalid: Array<[string, unknown, string[]]> = [
    ['a price past int32', withProduct({ price: 2147483648 }), ['product_info.price']],
    ['a fractional price', withProduct({ price: 1.5 }), ['product_info.price']],
    ['a price sent as a string', withProduct({ price: '100' }), ['product_info.price']],
    ['a fractional numeric product_id', withProduct({ product_id: 4.2 }), ['product_info.product_id']],
    ['an unknown device', { ...valid, device: 'WATCH' }, ['device']],
    ['a lower-case action', { ...valid, action: 'buy' }, ['action']],
    ['an empty cookie', { ...valid, cookie: '' }, ['cookie']],
    ['an unknown top-level field', { ...valid, user_agent: 'x' }, ['user_agent']],
    ['an unknown product_info field', withProduct({ color: 'red' }), ['product_info.color']],
    ['a null country', { ...valid, country: null }, ['country']],
    ['product_info as a string', { ...valid, product_info: 'x' }, ['product_info']],
    ['a lone high surrogate in origin', { ...valid, origin: 'a\ud800' }, ['origin']],
    ['a lone low surrogate in product_id', withProduct({ product_id: '\udc00x' }), ['product_info.product_id']],
    ['surrogates in the wrong order in the cookie', { ...valid, cookie: '\ude00\ud83d' }, ['cookie']],
    [
      `${MAX_TEXT_CODE_POINTS + 1} four-byte characters in the cookie`,
      { ...valid, cookie: '😀'.repeat(MAX_TEXT_CODE_POINTS + 1) },
      ['cookie'],
    ],
    [
      `${MAX_TEXT_CODE_POINTS + 1} characters in country and brand_id`,
      { ...withProduct({ brand_id: 'é'.repeat(257) }), country: 'x'.repeat(257) },
      ['country', 'product_info.brand_id'],
    ],
    [
      `${MAX_TEXT_CODE_POINTS + 1} characters in category_id`,
      withProduct({ category_id: `${'a'.repeat(MAX_TEXT_CODE_POINTS)}😀` }),
      ['product_info.category_id'],
    ],
  ];
  for (const [what, input, fields] of invalid) {
    it(`rejects ${what}, naming ${fields.join(', ')}`, () => {
      const result = parseUserTag(input);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'INVALID_EVENT');
      assert.deepEqual(
        result.error.issues.map((i) => i.field),
        fields,
      );
    });
  }

  it(`accepts ${MAX_TEXT_CODE_POINTS} code points in every string field, however many UTF-16 units they take`, () => {
    const at = (unit: string) => unit.repeat(MAX_TEXT_CODE_POINTS);
    const longest = {
      ...valid,
      cookie: at('😀'),
      country: at('x'),
      origin: at('é'),
      product_info: { ...valid.product_info, product_id: at('𝄞'), brand_id: at('中'), category_id: `${at('a').slice(1)}🍪` },
    };
    const result = parseUserTag(longest);
    assert.ok(result.ok);
    assert.deepEqual(result.value, longest);
  });

  it('names every missing field, each as required', () => {
    const { cookie: _c, origin: _o, ...rest } = valid;
    const result = parseUserTag(rest);
    assert.ok(!result.ok);
    assert.deepEqual(result.error.issues, [
      { field: 'cookie', message: 'is required' },
      { field: 'origin', message: 'is required' },
    ]);
  });

  for (const body of [null, [], 'tag', 42]) {
    it(`rejects a body that is not an object: ${JSON.stringify(body)}`, () => {
      const result = parseUserTag(body);
      assert.ok(!result.ok);
      assert.equal(result.error.issues[0]?.field, '(body)');
    });
  }
});
