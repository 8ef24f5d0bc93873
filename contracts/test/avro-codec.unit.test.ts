import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Schema } from 'avsc';
import fc from 'fast-check';
import { crc64Avro } from '../src/avro-fingerprint.ts';
import { aggregateFieldsOf, ContractError, createEventCodec, parseUserTag, USER_TAG_V1, type UserTag } from '../src/index.ts';

const tag: UserTag = {
  time: '2022-03-22T12:15:00.123Z',
  cookie: 'ćookie/ü?&=',
  country: 'PL',
  device: 'MOBILE',
  action: 'BUY',
  origin: 'o_1',
  product_info: { product_id: 9007199254740991, brand_id: 'b', category_id: 'c', price: -2147483648 },
};

/** v2 of the event as a later release might write it: a new field with a default. */
const USER_TAG_V2: Schema = {
  ...(USER_TAG_V1 as object),
  fields: [...(USER_TAG_V1 as { fields: object[] }).fields, { name: 'ingest_region', type: 'string', default: 'unknown' }],
} as Schema;

describe('the Avro event codec', () => {
  it('computes the CRC-64-AVRO fingerprints of the specification', () => {
    assert.equal(crc64Avro('"null"').readBigInt64LE(), 7195948357588979594n);
    assert.equal(crc64Avro('"int"').readBigInt64LE(), 8247732601305521295n);
  });

  it('writes single-object encoding: marker C3 01, then the writer fingerprint', () => {
    const codec = createEventCodec();
    const bytes = codec.encode(tag);
    assert.deepEqual([...bytes.subarray(0, 2)], [0xc3, 0x01]);
    assert.equal(bytes.subarray(2, 10).toString('hex'), codec.writerFingerprint);
  });

  it('gives back the same tag, product_id type and key order included', () => {
    const codec = createEventCodec();
    const back = codec.decode(codec.encode(tag));
    assert.equal(JSON.stringify(back), JSON.stringify(tag));
  });

  it('encodes tags of any size, each into bytes of its own that the next encoding leaves alone', () => {
    const codec = createEventCodec();
    const sizes = [10, 5000, 3, 40_000, 20];
    const tags = sizes.map((n, i) => ({ ...tag, origin: `${i}`.padEnd(n, 'ö') }));
    const encoded = tags.map((t) => codec.encode(t));
    for (const [i, bytes] of encoded.entries()) {
      assert.ok(bytes.length > (sizes[i] ?? 0));
      assert.deepEqual(codec.decode(bytes), tags[i]);
    }
  });

  it('reads payloads written with v1 through an evolved v2 reader', () => {
    const v1 = createEventCodec(USER_TAG_V1, [USER_TAG_V1]);
    const v2 = createEventCodec(USER_TAG_V2, [USER_TAG_V1, USER_TAG_V2]);
    assert.notEqual(v1.writerFingerprint, v2.writerFingerprint);
    assert.deepEqual(v2.decode(v1.encode(tag)), tag);
    // And the other way: a v1 reader that knows v2 ignores the new field.
    const v1KnowsV2 = createEventCodec(USER_TAG_V1, [USER_TAG_V1, USER_TAG_V2]);
    assert.deepEqual(v1KnowsV2.decode(v2.encode(tag)), tag);
  });

  it('refuses a payload written with an unknown schema, naming its fingerprint', () => {
    const v2 = createEventCodec(USER_TAG_V2, [USER_TAG_V2]);
    const v1Only = createEventCodec();
    assert.throws(
      () => v1Only.decode(v2.encode(tag)),
      (e: unknown) => e instanceof ContractError && e.code === 'UNDECODABLE_EVENT' && e.message.includes(v2.writerFingerprint),
    );
  });

  it('decodes the aggregate fields alone: the same values as the whole tag, time in epoch ms', () => {
    const codec = createEventCodec();
    assert.deepEqual(codec.decodeAggregateFields(codec.encode(tag)), {
      timeMs: Date.UTC(2022, 2, 22, 12, 15, 0, 123),
      action: 'BUY',
      origin: 'o_1',
      brandId: 'b',
      categoryId: 'c',
      price: -2147483648,
    });
    // Through schema evolution too, both ways.
    const v1 = createEventCodec(USER_TAG_V1, [USER_TAG_V1]);
    const v2 = createEventCodec(USER_TAG_V2, [USER_TAG_V1, USER_TAG_V2]);
    assert.deepEqual(v2.decodeAggregateFields(v1.encode(tag)), aggregateFieldsOf(tag));
    assert.deepEqual(
      createEventCodec(USER_TAG_V1, [USER_TAG_V1, USER_TAG_V2]).decodeAggregateFields(v2.encode(tag)),
      aggregateFieldsOf(tag),
    );
    assert.throws(
      () => v1.decodeAggregateFields(v2.encode(tag)),
      (e: unknown) => e instanceof ContractError && e.code === 'UNDECODABLE_EVENT',
    );
  });

  for (const [what, bytes] of [
    ['an empty payload', Buffer.alloc(0)],
    ['plain JSON', Buffer.from(JSON.stringify(tag))],
    ['a truncated body', createEventCodec().encode(tag).subarray(0, 20)],
  ] as const) {
    it(`refuses ${what} as UNDECODABLE_EVENT`, () => {
      for (const decode of [createEventCodec().decode, createEventCodec().decodeAggregateFields]) {
        assert.throws(
          () => decode(bytes),
          (e: unknown) => e instanceof ContractError && e.code === 'UNDECODABLE_EVENT',
        );
      }
    });
  }
});

const text = fc.string({ unit: 'binary', maxLength: 40 });
const arbitraryTag = fc.record({
  time: fc
    .integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2100, 0, 1) })
    .chain((ms) =>
      fc.constantFrom(
        new Date(ms).toISOString(),
        new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        new Date(ms).toISOString().replace(/0?0?Z$/, 'Z'),
      ),
    ),
  cookie: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  country: text,
  device: fc.constantFrom('PC', 'MOBILE', 'TV'),
  action: fc.constantFrom('VIEW', 'BUY'),
  origin: text,
  product_info: fc.record({
    product_id: fc.oneof(text, fc.maxSafeInteger()),
    brand_id: text,
    category_id: text,
    price: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  }),
});

describe('JSON → Avro → JSON', () => {
  it('gives back the same JSON value for any valid tag, with time in canonical form', () => {
    const codec = createEventCodec();
    fc.assert(
      fc.property(arbitraryTag, (input) => {
        const json = JSON.parse(JSON.stringify(input));
        const parsed = parseUserTag(json);
        assert.ok(parsed.ok, JSON.stringify(parsed.ok ? null : parsed.error.issues));
        const back = JSON.parse(JSON.stringify(codec.decode(codec.encode(parsed.value))));
        const expected = { ...json, time: new Date(json.time).toISOString() };
        assert.deepStrictEqual(back, expected);
        assert.equal(typeof back.product_info.product_id, typeof json.product_info.product_id);
        assert.deepStrictEqual(codec.decodeAggregateFields(codec.encode(parsed.value)), aggregateFieldsOf(parsed.value));
      }),
      { numRuns: 2000 },
    );
  });
});
