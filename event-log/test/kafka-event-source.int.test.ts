import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@usertags/runtime';
import { createTopic, deleteTopic, TEST_BROKERS, uniqueName } from '@usertags/testkit';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createKafkaEventSource } from '../src/kafka/kafka-event-source.ts';
import { describeEventSourceContract } from './event-source.contract.ts';

const topics: string[] = [];
const run = uniqueName('event-source');
const kafka = new Kafka({ clientId: 'event-source-test', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });

describeEventSourceContract('Kafka', {
  async createTopic(partitions) {
    const topic = uniqueName('event-source');
    topics.push(topic);
    await createTopic(topic, partitions);
    return {
      topic,
      async write(keys) {
        const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
        await producer.send({ topic, acks: -1, messages: keys.map((key, i) => ({ key, value: `${key}#${i}` })) });
        await producer.disconnect();
      },
    };
  },
  source: (topic, group) =>
    createKafkaEventSource(
      { brokers: TEST_BROKERS, clientId: 'event-source-test', groupId: `${run}-${group}`, topic, maxWaitMs: 100, sessionTimeoutMs: 6000 },
      createLogger('test', 'error'),
    ),
  groupId: (group) => `${run}-${group}`,
  async cleanup() {
    await Promise.all(topics.map((t) => deleteTopic(t)));
  },
});

describe('Kafka event source: assignment', () => {
  const sources: ReturnType<typeof createKafkaEventSource>[] = [];
  let topic: string;
  const reader = () => {
    const s = createKafkaEventSource(
      { brokers: TEST_BROKERS, clientId: 'event-source-test', groupId: `${run}-split`, topic, maxWaitMs: 100, sessionTimeoutMs: 6000 },
      createLogger('test', 'error'),
    );
    sources.push(s);
    return s;
  };
  before(async () => {
    topic = uniqueName('event-source-split');
    await createTopic(topic, 3);
  });
  after(async () => {
    await Promise.all(sources.map((s) => s.stop().catch(() => {})));
    await deleteTopic(topic);
  });

  it('says which partitions it reads: two readers of one group split them, neither claims the other’s', async () => {
    const first = reader();
    await first.start(async () => {}, { startFrom: () => 0n });
    const mine = () => [...first.assigned()];
    await waitUntil(
      () => mine().length === 3,
      30_000,
      () => `alone, the reader has partitions [${mine().join(', ')}]`,
    );
    const second = reader();
    await second.start(async () => {}, { startFrom: () => 0n });
    const theirs = () => [...second.assigned()];
    await waitUntil(
      () => mine().length > 0 && theirs().length > 0 && mine().length + theirs().length === 3,
      45_000,
      () => `after the second joined: [${mine().join(', ')}] and [${theirs().join(', ')}]`,
    );
    assert.deepEqual([...mine(), ...theirs()].sort(), [0, 1, 2], 'every partition read by exactly one of them');
  });
});

async function waitUntil(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`not within ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
