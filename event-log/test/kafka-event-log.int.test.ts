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
