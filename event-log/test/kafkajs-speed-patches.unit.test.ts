import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it, mock } from 'node:test';
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

// The produce request writes an uncompressed batch in one pass (record/v0 `encodeInto`); the bytes must be
// the ones kafkajs's own path builds: an encoder per record and per header, copied into a RecordBatch.
type HeaderValue = string | Buffer;
interface Message {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, HeaderValue | HeaderValue[]>;
  timestamp?: string;
}
interface PartitionData {
  partition: number;
  firstSequence?: number | undefined;
  messages: Message[];
}
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request') as (args: {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  topicData: { topic: string; partitions: PartitionData[] }[];
}) => { encode(): Promise<KafkaEncoder> };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (args: object) => KafkaEncoder;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch(args: object): Promise<KafkaEncoder> };
const Long = require('kafkajs/src/utils/long') as { fromValue(v: number | string): unknown; fromInt(v: number): unknown };
type Writer = KafkaEncoder & {
  writeString(v: string | null): Writer;
  writeInt16(v: number): Writer;
  writeInt32(v: number): Writer;
  writeArray(v: unknown[]): Writer;
  writeEncoder(v: KafkaEncoder): Writer;
  size(): number;
};
const newWriter = () => new Encoder() as unknown as Writer;

/** The request's bytes as kafkajs 2.2.4 builds them without the one-pass patch (its produce v3 `encode`). */
async function unpatchedProduce(args: Parameters<typeof produceV3>[0], now: number): Promise<Buffer> {
  const { transactionalId = null, producerId = Long.fromInt(-1), producerEpoch = 0 } = args;
  const topics: Writer[] = [];
  for (const { topic, partitions } of args.topicData) {
    const entries: Writer[] = [];
    for (const { partition, firstSequence, messages } of partitions) {
      const given = messages
        .map((m) => m.timestamp)
        .filter((t) => t != null)
        .sort();
      const timestamps = given.length === 0 ? [now] : given;
      const firstTimestamp = timestamps[0] as number | string;
      const records = messages.map((m, i) =>
        Record({ ...m, offsetDelta: i, timestampDelta: Number(m.timestamp || now) - Number(firstTimestamp) }),
      );
      const batch = await RecordBatch({
        records,
        firstTimestamp,
        maxTimestamp: timestamps[timestamps.length - 1],
        producerId,
        producerEpoch,
        firstSequence,
        transactional: !!transactionalId,
        lastOffsetDelta: records.length - 1,
      });
      entries.push(
        newWriter()
          .writeInt32(partition)
          .writeInt32((batch as Writer).size())
          .writeEncoder(batch),
      );
    }
    topics.push(newWriter().writeString(topic).writeArray(entries));
  }
  return newWriter().writeString(transactionalId).writeInt16(args.acks).writeInt32(args.timeout).writeArray(topics).buffer;
}

const bytesOrText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
  // Bodies whose length takes one, two or three varint bytes: the record is moved when two was wrong.
  fc.integer({ min: 0, max: 12_000 }).map((n) => Buffer.alloc(n, 7)),
);
const message: fc.Arbitrary<Message> = fc.record(
  {
    key: fc.option(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
      ),
    ),
    value: fc.option(bytesOrText),
    headers: fc.dictionary(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.oneof(fc.string({ maxLength: 60 }), fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 3 })),
      { maxKeys: 4 },
    ),
    timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }).map(String),
  },
  { requiredKeys: ['key', 'value'] },
);

describe("kafkajs's produce request, written in one pass", () => {
  it('writes the same bytes as kafkajs builds record by record, for any messages, headers and partitions', async () => {
    const now = 1_767_225_600_000;
    mock.timers.enable({ apis: ['Date'], now });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              topic: fc.string({ minLength: 1, maxLength: 20 }),
              partitions: fc.array(
                fc.record({
                  partition: fc.nat(1000),
                  firstSequence: fc.option(fc.nat(2 ** 31 - 1), { nil: undefined }),
                  messages: fc.array(message, { minLength: 1, maxLength: 12 }),
                }),
                { minLength: 1, maxLength: 3 },
              ),
            }),
            { minLength: 1, maxLength: 2 },
          ),
          fc.option(fc.string({ minLength: 1, maxLength: 10 })),
          fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
          async (topicData, transactionalId, producerId) => {
            const args = {
              acks: -1,
              timeout: 30_000,
              transactionalId,
              producerEpoch: 3,
              topicData,
              ...(producerId === undefined ? {} : { producerId: Long.fromValue(producerId) }),
            };
            const written = (await produceV3(args).encode()).buffer;
            assert.deepEqual(written, await unpatchedProduce(args, now));
          },
        ),
        { numRuns: 300 },
      );
    } finally {
      mock.timers.reset();
    }
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
