#!/usr/bin/env node
// Composition root of the command API: config → adapters → app → listen; with WORKERS > 1, a primary
// that forks that many workers, each of which does the same.
import type { EventAppender } from '@usertags/contracts';
import { createEmbeddedEventLog, createKafkaEventLog, createPlatformaticEventLog } from '@usertags/event-log';
import {
  createLogger,
  errorFields,
  isWorkerPrimary,
  loadConfigOrExit,
  onShutdownSignal,
  superviseWorkers,
  warnIfTelemetryMissing,
} from '@usertags/runtime';
import { startCommandApi } from './command-api.ts';
import { loadConfig } from './config.ts';

const config = loadConfigOrExit('command-api', loadConfig);
const logger = createLogger('command-api', config.LOG_LEVEL);
warnIfTelemetryMissing(logger, 'command-api', config.OTEL_TRACES_EXPORTER);

async function openLog(): Promise<EventAppender> {
  const { eventLog } = config;
  if (eventLog.kind === 'file') {
    return createEmbeddedEventLog({ path: eventLog.path, topic: config.KAFKA_TOPIC, partitions: config.KAFKA_TOPIC_PARTITIONS });
  }
  // The same port and guarantees over either client; docs/decisions.md has how they differ when a request fails.
  const createLog = config.KAFKA_CLIENT === 'platformatic' ? createPlatformaticEventLog : createKafkaEventLog;
  const kafka = createLog(
    {
      brokers: eventLog.brokers,
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
    await kafka.ensureTopic().catch((error: unknown) => logger.warn('could not ensure the topic at start', errorFields(error)));
  }
  return kafka;
}

if (isWorkerPrimary(config.WORKERS)) superviseWorkers(config.WORKERS, logger);
else await serve();

async function serve(): Promise<void> {
  const log = await openLog();

  const api = await startCommandApi(config, log, logger);
  logger.info('listening', {
    url: `http://${config.HOST}:${api.port()}`,
    topic: config.KAFKA_TOPIC,
    log: config.eventLog.kind === 'kafka' ? `kafka (${config.KAFKA_CLIENT})` : `embedded ${config.eventLog.path}`,
  });

  onShutdownSignal(logger, () => api.shutdown());
}
