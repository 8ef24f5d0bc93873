#!/usr/bin/env node
import { createLogger, errorFields, loadConfigOrExit, onShutdownSignal } from '@usertags/runtime';
// Composition root of the command API: config → adapters → app → listen.
import { createKafkaEventLog } from './adapters/kafka-event-log.ts';
import { startCommandApi } from './command-api.ts';
import { loadConfig } from './config.ts';

const config = loadConfigOrExit('command-api', loadConfig);
const logger = createLogger('command-api', config.LOG_LEVEL);

const log = createKafkaEventLog(
  {
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION,
    requestTimeoutMs: config.APPEND_TIMEOUT_MS,
  },
  logger,
);

if (config.KAFKA_CREATE_TOPIC) {
  // The API still starts when Kafka is down: it answers 503 until the log is back.
  await log.ensureTopic().catch((error: unknown) => logger.warn('could not ensure the topic at start', errorFields(error)));
}

const api = await startCommandApi(config, log, logger);
logger.info('listening', { url: `http://${config.HOST}:${api.port()}`, topic: config.KAFKA_TOPIC });

onShutdownSignal(logger, () => api.shutdown());
