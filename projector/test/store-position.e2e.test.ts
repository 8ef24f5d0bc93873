import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventCodec, parseUserTag } from '@usertags/contracts';
import { createPostgresAggregateStore } from '@usertags/read-models';
import {
  aggregateStream,
  createTestDatabase,
  createTopic,
  deleteTopic,
  expectedAggregates,
  ProgramProcess,
  TEST_BROKERS,
  type TestDatabase,
  testPort,
  uniqueName,
  waitFor,
} from '@usertags/testkit';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

const START = Date.UTC(2022, 2, 22, 12, 0);
const tags = aggregateStream({ seed: 3, count: 2000, startMs: START, minutes: 3 });

describe('the aggregate projector reads from its own stored position, not the consumer group’s', () => {
  const topic = uniqueName('store-position');
  const groupId = uniqueName('store-position');
  const kafka = new Kafka({ clientId: 'store-position-test', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  let database: TestDatabase;
  let projector: ProgramProcess | undefined;

  before(async () => {
    database = await createTestDatabase('store_position');
    await createTopic(topic, 4);
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const codec = createEventCodec();
    await producer.send({
      topic,
      acks: -1,
      messages: tags.map((t) => {
        const parsed = parseUserTag(t);
        assert.ok(parsed.ok);
        return { key: t.cookie, value: codec.encode(parsed.value) };
      }),
    });
    await producer.disconnect();
  });

  after(async () => {
    await projector?.kill();
    await deleteTopic(topic);
    await deleteTopic(`${topic}.dead-letter`);
    await database.drop();
  });

  it('applies every event to an empty store even when the group has already committed the end of the log', async () => {
    // As after the read model was lost or restored from an old backup: the group says "done", the store says "nothing".
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.setOffsets({ groupId, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
    await admin.disconnect();

    projector = new ProgramProcess('projector', {
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      PROJECTIONS: 'aggregates',
      AGGREGATES_GROUP_ID: groupId,
      DATABASE_URL: database.url,
      PORT: String(testPort(41)),
      FLUSH_MAX_DELAY_MS: '100',
    });
    await projector.ready();

    const store = createPostgresAggregateStore({ connectionString: database.url });
    try {
      await waitFor(
        async () => {
          const stored = await store.loadOffsets(topic);
          return ends.every((p) => (stored.get(p.partition) ?? 0n) >= BigInt(p.high));
        },
        60_000,
        () => 'the projector applied the whole log',
      );
      const q = { fromMs: START, toMs: START + 3 * 60_000, action: 'BUY', aggregates: ['COUNT', 'SUM_PRICE'] } as const;
      const got = await store.readBuckets({ action: 'BUY', filters: {}, fromMs: q.fromMs, toMs: q.toMs });
      assert.deepEqual(
        got.map((b) => [b.count, b.sumPrice]),
        expectedAggregates(tags, q).rows.map((r) => r.slice(-2)),
      );
    } finally {
      await store.close();
    }
  });
});
