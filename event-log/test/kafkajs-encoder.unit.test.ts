import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';

// patches/kafkajs@2.2.4.patch writes varints in place and takes int32 numbers past Long; the bytes must not change.
const require = createRequire(import.meta.url);
interface KafkaEncoder {
  writeVarInt(value: number): KafkaEncoder;
  writeVarLong(value: number | string): KafkaEncoder;
  writeInt8(value: number): KafkaEncoder;
  readonly buffer: Buffer;
}
const Encoder = require('kafkajs/src/protocol/encoder') as {
  new (initialSize?: number): KafkaEncoder;
  sizeOfVarInt(value: number): number;
  sizeOfVarLong(value: number | string): number;
};
const Decoder = require('kafkajs/src/protocol/decoder') as new (
  buffer: Buffer,
) => { readVarInt(): number; readVarLong(): { toString(): string } };

/** Kafka's (and protobuf's) signed varint: zigzag over 64 bits, then seven bits a byte, low first. */
function reference(value: bigint): Buffer {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

const INT64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);

describe("kafkajs's encoder, as patched", () => {
  it('writes an int32 as the same bytes as a varint and as a varlong, both as Kafka encodes them', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31))), (n) => {
        const expected = reference(BigInt(n));
        assert.deepEqual(new Encoder(1).writeVarInt(n).buffer, expected);
        assert.deepEqual(new Encoder(1).writeVarLong(n).buffer, expected);
        assert.equal(Encoder.sizeOfVarInt(n), expected.length);
        assert.equal(Encoder.sizeOfVarLong(n), expected.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes any int64 as a varlong the way Kafka encodes it, given as a number or as text', () => {
    fc.assert(
      fc.property(fc.oneof(INT64, fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).map(BigInt)), (n) => {
        const expected = reference(n);
        const given = Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
        assert.deepEqual(new Encoder(1).writeVarLong(given).buffer, expected);
        assert.equal(Encoder.sizeOfVarLong(given), expected.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back what it wrote, growing its buffer as it goes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer(), INT64), { minLength: 1, maxLength: 300 }), (pairs) => {
        const encoder = new Encoder(1);
        for (const [small, large] of pairs) encoder.writeInt8(7).writeVarInt(small).writeVarLong(large.toString());
        const decoder = new Decoder(encoder.buffer) as unknown as { readInt8(): number } & InstanceType<typeof Decoder>;
        for (const [small, large] of pairs) {
          assert.equal(decoder.readInt8(), 7);
          assert.equal(decoder.readVarInt(), small);
          assert.equal(decoder.readVarLong().toString(), large.toString());
        }
      }),
      { numRuns: 200 },
    );
  });
});
