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
