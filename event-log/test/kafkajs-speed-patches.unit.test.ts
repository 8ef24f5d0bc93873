import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { javaPartition } from '@usertags/testkit';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { javaCompatiblePartitioner, murmur2 } from '../src/kafka/java-partitioner.ts';

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

describe('the Java-compatible partitioner in 32-bit arithmetic', () => {
  const reference = Partitioners.DefaultPartitioner();
  const ours = javaCompatiblePartitioner();
  const metadata = (n: number) =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionErrorCode: 0, partitionId, leader: 0, replicas: [], isr: [] }));

  it("sends every key where kafkajs's own (64-bit Long) murmur2 partitioner does, for any partition count", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.uint8Array().map(Buffer.from)),
        fc.integer({ min: 1, max: 1000 }),
        (key, n) => {
          const args = { topic: 't', partitionMetadata: metadata(n), message: { key, value: null } };
          assert.equal(ours(args), reference(args));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("agrees with the test kit's reference for cookies (the partition the e2e tests expect a cookie in)", () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), fc.integer({ min: 1, max: 64 }), (cookie, n) => {
        assert.equal(ours({ topic: 't', partitionMetadata: metadata(n), message: { key: cookie, value: null } }), javaPartition(cookie, n));
        assert.equal((murmur2(Buffer.from(cookie)) & 0x7fffffff) % n, javaPartition(cookie, n));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps an explicit partition, and spreads records without a key', () => {
    const message = { key: null, value: null };
    assert.equal(ours({ topic: 't', partitionMetadata: metadata(4), message: { ...message, partition: 3 } }), 3);
    const chosen = new Set(Array.from({ length: 40 }, () => ours({ topic: 't', partitionMetadata: metadata(4), message })));
    assert.deepEqual([...chosen].sort(), [0, 1, 2, 3]);
  });
});
