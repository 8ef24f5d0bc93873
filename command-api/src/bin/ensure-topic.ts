// Creates the user-tags topic if it is missing, from the same configuration
// the command API reads (EVENT_LOG or KAFKA_BROKERS, KAFKA_TOPIC, KAFKA_TOPIC_PARTITIONS,
// KAFKA_TOPIC_REPLICATION). Used by `stack:up`.

import { createKafkaEventLog } from '@usertags/event-log';
import { createLogger } from '@usertags/runtime';
import { loadConfig } from '../config.ts';

const config = loadConfig();
const logger = createLogger('ensure-topic', 'warn');
const log = createKafkaEventLog(
  {
    // Kafka's brokers even when the command API's own log would be the embedded file (stack:up sets Kafka up).
    brokers: config.eventLog.kind === 'kafka' ? config.eventLog.brokers : config.KAFKA_BROKERS,
    clientId: 'ensure-topic',
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION,
    requestTimeoutMs: 10_000,
  },
  logger,
);
try {
  await log.ensureTopic();
  process.stderr.write(`[stack] topic ${config.KAFKA_TOPIC} ready\n`);
} finally {
  await log.close();
}
