#!/usr/bin/env node
import { createLogger, errorFields } from '@usertags/runtime';
// Composition root of the command API: config → adapters → app → listen.
import { createKafkaEventLog } from './adapters/kafka-event-log.ts';
import { startCommandApi } from './command-api.ts';
import { loadConfig } from './config.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`command-api: ${(error as Error).message}\n`);
  process.exit(2);
}
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

let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    logger.info('shutting down', { signal });
    api.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', errorFields(error));
        process.exit(1);
      },
    );
  });
}
