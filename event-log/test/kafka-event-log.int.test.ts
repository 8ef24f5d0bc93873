import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { createLogger } from '@usertags/runtime';
import { createTopic, deleteTopic, readTopic, TEST_BROKERS, uniqueName } from '@usertags/testkit';
import { createKafkaEventLog, type KafkaEventLog } from '../src/kafka/kafka-event-log.ts';
import { describeEventLogContract } from './event-log.contract.ts';

const logger = createLogger('test', 'error');
const topics: string[] = [];
const logs: KafkaEventLog[] = [];

function kafkaLog(brokers: readonly string[], topic: string): KafkaEventLog {
  const log = createKafkaEventLog(
    { brokers, clientId: 'event-log-test', topic, partitions: 4, replicationFactor: 1, requestTimeoutMs: 2000 },
    logger,
  );
  logs.push(log);
  return log;
}

describeEventLogContract('Kafka', {
  async open() {
    const topic = uniqueName('event-log-contract');
    topics.push(topic);
    await createTopic(topic, 4);
    const log = kafkaLog(TEST_BROKERS, topic);
    return {
      log,
      partitions: 4,
      readAll: async () => (await readTopic(topic)).map((r) => ({ ...r })),
    };
  },
  async openUnreachable() {
    // Nothing listens on port 1.
    return kafkaLog(['127.0.0.1:1'], 'unreachable');
  },
  async cleanup() {
    await Promise.all(logs.map((l) => l.close()));
    await Promise.all(topics.map((t) => deleteTopic(t)));
  },
});

describe('a Kafka log with a hung broker in its list', () => {
  it('appends through the brokers that answer: a hung seed broker does not hold every new producer', async () => {
    // A "broker" that completes the TCP handshake and then never answers, like a SIGSTOPped one.
    const held: Socket[] = [];
    const hung = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const hungAddress = `127.0.0.1:${(hung.address() as AddressInfo).port}`;
    const topic = uniqueName('hung-broker');
    await createTopic(topic, 4);
    let log: KafkaEventLog | undefined;
    try {
      // The hung broker first, as in the broker-pause drill's list. A failed append makes a new
      // producer, which picks its seed broker again; with a fixed order it would always pick the hung one.
      log = createKafkaEventLog(
        {
          brokers: [hungAddress, ...TEST_BROKERS],
          clientId: 'hung-test',
          topic,
          partitions: 4,
          replicationFactor: 1,
          requestTimeoutMs: 500,
        },
        logger,
      );
      let appended = 0;
      for (let attempt = 0; attempt < 20 && appended < 3; attempt++) {
        try {
          await log.append([{ key: `cookie-${attempt}`, value: Buffer.from(`tag ${attempt}`), headers: {} }]);
          appended++;
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'LOG_UNAVAILABLE');
        }
      }
      assert.equal(appended, 3, 'three appends went through within 20 attempts');
      assert.equal((await readTopic(topic)).length, 3);
    } finally {
      await log?.close();
      for (const socket of held) socket.destroy();
      hung.close();
      await deleteTopic(topic);
    }
  });
});
