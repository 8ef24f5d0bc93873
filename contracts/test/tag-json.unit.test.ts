import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Schema } from 'avsc';
import fc from 'fast-check';
import { ContractError, createEventCodec, createTagJsonWriter, JsonBytes, USER_TAG_V1, type UserTag } from '../src/index.ts';

const codec = createEventCodec();
const write = createTagJsonWriter(codec);

/** What the writer must give: the decoded tag through JSON.stringify, as UTF-8. */
const expected = (payload: Uint8Array) => Buffer.from(JSON.stringify(codec.decode(payload)));

function written(payload: Uint8Array, capacity = 16): Buffer {
  const out = new JsonBytes(capacity);
  write(payload, out);
  return Buffer.from(out.bytes());
}

const YEAR_0 = Date.parse('0000-01-01T00:00:00.000Z');
const YEAR_9999_END = Date.parse('9999-12-31T23:59:59.999Z');

/** Text with everything JSON escapes, and more: quotes, backslashes, controls, DEL, separators, a BOM, astral and lone surrogates. */
const awkward = fc.string({
  unit: fc.constantFrom(
    'a',
    'Z',
    '0',
    ' ',
    '"',
    '\\',
    '/',
    '\n',
    '\r',
    '\t',
    '\b',
    '\f',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u0080',
    'é',
    'ß',
    '\u2028',
    '\u2029',
    '\ufeff',
    '\uffff',
    '🍪',
    '\ud800',
    '\udfff',
  ),
  maxLength: 12,
});
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  awkward,
);

const time = fc.oneof(
  fc.integer({ min: YEAR_0, max: YEAR_9999_END }),
  fc.integer({ min: Date.UTC(2022, 0, 1), max: Date.UTC(2022, 0, 3) }),
  // Beyond year 9999 and before year 0: toISOString's six-digit years, and past 2^48 the general path.
  fc.integer({ min: -8.64e15, max: 8.64e15 }),
  fc.constantFrom(0, -1, 1, YEAR_0, YEAR_9999_END, YEAR_9999_END + 1, YEAR_0 - 1, 2 ** 47, -(2 ** 47), 2 ** 48, -(2 ** 48)),
);

const tag = fc.record({
  time: time.map((ms) => new Date(ms).toISOString()),
  cookie: text,
  country: text,
  device: fc.constantFrom('PC', 'MOBILE', 'TV'),
  action: fc.constantFrom('VIEW', 'BUY'),
  origin: text,
  product_info: fc.record({
    product_id: fc.oneof(
      text,
      fc.integer(),
      fc.maxSafeInteger(),
      fc.constantFrom(0, -1, 2 ** 47 - 1, 2 ** 47, 2 ** 48, -(2 ** 48), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    ),
    brand_id: text,
    category_id: text,
    price: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, -1, -(2 ** 31), 2 ** 31 - 1)),
  }),
}) as fc.Arbitrary<UserTag>;

describe('a tag written as JSON straight from its payload', () => {
  it('is JSON.stringify of the decoded tag, byte for byte, for any tag', () => {
    fc.assert(
      fc.property(tag, (t) => {
        const payload = codec.encode(t);
        assert.deepEqual(written(payload), expected(payload));
      }),
      { numRuns: 5000 },
    );
  });

  it('decodes nothing for tags of the current schema, unless a product id is beyond 2^48', () => {
    let decoded = 0;
    const counting = {
      ...codec,
      decode: (p: Uint8Array) => {
        decoded++;
        return codec.decode(p);
      },
    };
    const w = createTagJsonWriter(counting);
    let big = 0;
    for (const t of fc.sample(tag, 2000)) {
      const id = t.product_info.product_id;
      const time = Date.parse(t.time);
      if ((typeof id === 'number' && Math.abs(id) >= 2 ** 47) || Math.abs(time) >= 2 ** 47) big++;
      w(codec.encode(t), new JsonBytes());
    }
    assert.ok(decoded <= big, `${decoded} decoded, ${big} with a long beyond 2^47`);
  });

  it('writes the reference tag as the contract shows it', () => {
    const t: UserTag = {
      time: '2022-03-22T12:15:00.120Z',
      cookie: 'ćookie/ü?&="\\',
      country: 'PL',
      device: 'TV',
      action: 'BUY',
      origin: 'o\n1',
      product_info: { product_id: 9007199254740991, brand_id: 'b', category_id: '', price: -2147483648 },
    };
    assert.equal(written(codec.encode(t)).toString(), JSON.stringify(t));
    assert.equal(
      written(codec.encode({ ...t, product_info: { ...t.product_info, product_id: -42 } })).toString(),
      JSON.stringify({ ...t, product_info: { ...t.product_info, product_id: -42 } }),
    );
  });

  it('appends after what the buffer holds, growing it', () => {
    const payloads = fc.sample(tag, 50).map((t) => codec.encode(t));
    const out = new JsonBytes(1);
    out.raw(Buffer.from('['));
    payloads.forEach((p, i) => {
      if (i > 0) out.raw(Buffer.from(','));
      write(p, out);
    });
    out.raw(Buffer.from(']'));
    assert.equal(out.bytes().toString(), JSON.stringify(payloads.map((p) => codec.decode(p))));
  });

  it('reads payloads that are views into a larger buffer (as SQLite gives them)', () => {
    const payload = codec.encode(fc.sample(tag, 1)[0] as UserTag);
    const big = new Uint8Array(payload.length + 20);
    big.set(payload, 7);
    assert.deepEqual(written(big.subarray(7, 7 + payload.length)), expected(payload));
  });

  it('gives strings that are not valid UTF-8 as the decoder reads them (U+FFFD)', () => {
    const t: UserTag = {
      time: '2022-03-22T12:15:00.000Z',
      cookie: 'XXXXXXXX',
      country: 'PL',
      device: 'PC',
      action: 'VIEW',
      origin: 'o',
      product_info: { product_id: 'p', brand_id: 'b', category_id: 'c', price: 1 },
    };
    const base = codec.encode(t);
    const at = base.indexOf('XXXXXXXX');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (bytes) => {
        const payload = Buffer.from(base);
        payload.set(bytes, at);
        assert.deepEqual(written(payload), expected(payload));
      }),
      { numRuns: 3000 },
    );
    for (const bytes of [
      [0xff, 0xfe, 0x41, 0x41, 0x41, 0x41, 0x41, 0x41],
      [0xed, 0xa0, 0x80, 0x41, 0x41, 0x41, 0x41, 0x41], // an encoded lone surrogate
      [0xef, 0xbb, 0xbf, 0x41, 0x41, 0x41, 0x41, 0x41], // a BOM
      [0xf0, 0x9f, 0x8d, 0xaa, 0x22, 0x5c, 0x00, 0x7f],
      [0x41, 0x41, 0x41, 0x41, 0x41, 0xe2, 0x82, 0x00],
    ]) {
      const payload = Buffer.from(base);
      payload.set(bytes, at);
      assert.deepEqual(written(payload), expected(payload));
    }
  });

  it('goes the general way for payloads of another schema, with the same text', () => {
    const v2: Schema = {
      ...(USER_TAG_V1 as object),
      fields: [...(USER_TAG_V1 as { fields: object[] }).fields, { name: 'region', type: 'string', default: 'x' }],
    } as Schema;
    const writerV2 = createEventCodec(v2, [USER_TAG_V1, v2]);
    const readerV1 = createEventCodec(USER_TAG_V1, [USER_TAG_V1, v2]);
    const writeV1 = createTagJsonWriter(readerV1);
    const writeV2 = createTagJsonWriter(writerV2);
    for (const t of fc.sample(tag, 200)) {
      const fromV2 = writerV2.encode(t);
      const fromV1 = readerV1.encode(t);
      for (const [w, c, p] of [
        [writeV1, readerV1, fromV2],
        [writeV2, writerV2, fromV1],
        [writeV2, writerV2, fromV2],
      ] as const) {
        const out = new JsonBytes();
        w(p, out);
        assert.equal(out.bytes().toString(), JSON.stringify(c.decode(p)));
      }
    }
  });

  it('fails as the decoder fails on a payload that is not a tag, and leaves what was written before', () => {
    const payload = codec.encode(fc.sample(tag, 1)[0] as UserTag);
    const bad: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array()],
      ['no marker', Buffer.from('not avro at all')],
      ['only the header', payload.subarray(0, 10)],
      ['truncated', payload.subarray(0, payload.length - 1)],
      ['trailing bytes', Buffer.concat([payload, Buffer.from([0])])],
      ['an unknown fingerprint', Buffer.concat([payload.subarray(0, 2), Buffer.alloc(8, 7), payload.subarray(10)])],
    ];
    for (let cut = 11; cut < payload.length; cut++) bad.push([`cut at ${cut}`, payload.subarray(0, cut)]);
    for (const [what, p] of bad) {
      let decodeError: unknown;
      try {
        codec.decode(p);
      } catch (error) {
        decodeError = error;
      }
      assert.ok(decodeError instanceof ContractError, what);
      const out = new JsonBytes();
      out.raw(Buffer.from('[1,'));
      assert.throws(
        () => write(p, out),
        (e: unknown) => e instanceof ContractError && e.code === decodeError.code && e.message === decodeError.message,
        what,
      );
      assert.equal(out.bytes().toString(), '[1,', what);
    }
  });

  it('matches the decoder on arbitrary bodies behind a valid header', () => {
    const header = codec.encode(fc.sample(tag, 1)[0] as UserTag).subarray(0, 10);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (body) => {
        const payload = Buffer.concat([header, body]);
        let want: { bytes: Buffer } | { message: string };
        try {
          want = { bytes: expected(payload) };
        } catch (error) {
          assert.ok(error instanceof ContractError);
          want = { message: error.message };
        }
        if ('bytes' in want) assert.deepEqual(written(payload), want.bytes);
        else {
          const { message } = want;
          assert.throws(
            () => written(payload),
            (e: unknown) => e instanceof ContractError && e.message === message,
          );
        }
      }),
      { numRuns: 5000 },
    );
  });
});
