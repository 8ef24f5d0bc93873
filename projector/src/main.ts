#!/usr/bin/env node
// Composition root of the projector: config → adapters → the aggregate projection → run.
import type { AddressInfo } from 'node:net';
import { createEventCodec } from '@usertags/contracts';
import {
  createHttpServer,
  createLogger,
  errorFields,
  loadConfigOrExit,
  mountFallbacks,
  mountOperational,
  onShutdownSignal,
} from '@usertags/runtime';
import express from 'express';
import { createKafkaDeadLetterSink, createKafkaEventSource } from './adapters/kafka-event-source.ts';
import { createAggregateProjector } from './aggregates/aggregate-projector.ts';
import { createPostgresAggregateStore } from './aggregates/postgres-aggregate-store.ts';
import { loadConfig } from './config.ts';
import { createProjectorMetrics } from './metrics.ts';

const config = loadConfigOrExit('projector', loadConfig);
const logger = createLogger('projector', config.LOG_LEVEL);
const metrics = createProjectorMetrics();
const projection = 'aggregates';

const store = createPostgresAggregateStore({ connectionString: config.DATABASE_URL });
const source = createKafkaEventSource(
  {
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    groupId: config.AGGREGATES_GROUP_ID,
    topic: config.KAFKA_TOPIC,
    maxWaitMs: config.FETCH_MAX_WAIT_MS,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
  },
  logger,
);
const deadLetters = createKafkaDeadLetterSink(
  {
    brokers: config.KAFKA_BROKERS,
    clientId: `${config.KAFKA_CLIENT_ID}-dead-letter`,
    topic: config.KAFKA_DEAD_LETTER_TOPIC,
    partitions: 1,
  },
  logger,
);

const projector = createAggregateProjector(
  store,
  createEventCodec(),
  deadLetters,
  {
    topic: config.KAFKA_TOPIC,
    maxEvents: config.FLUSH_MAX_EVENTS,
    maxDelayMs: config.FLUSH_MAX_DELAY_MS,
    retentionMs: config.RETENTION_HOURS * 3_600_000,
  },
  {
    onFlush(events, rows, seconds) {
      metrics.eventsApplied.inc({ projection }, events);
      metrics.batchEvents.observe({ projection }, events);
      metrics.batchRows.observe({ projection }, rows);
      metrics.flushDuration.observe({ projection }, seconds);
    },
    onDeadLetter: () => metrics.deadLettered.inc({ projection }),
    onLateEvent: () => metrics.lateEvents.inc({ projection }),
    onStoreRetry: () => metrics.storeRetries.inc({ projection }),
    onApplied(progress) {
      source.commit(config.KAFKA_TOPIC, progress).catch((error: unknown) => logger.debug('offset commit hint failed', errorFields(error)));
    },
  },
  logger,
);

// The schema may be created by several projector instances at once; the migrator locks.
for (let attempt = 1; ; attempt++) {
  try {
    await store.migrate();
    await projector.init();
    break;
  } catch (error) {
    logger.warn('waiting for PostgreSQL', { attempt, ...errorFields(error) });
    await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
  }
}

const app = express();
app.disable('x-powered-by');
mountOperational(app, { checkReady: () => store.checkReady(), registry: metrics.registry });
mountFallbacks(app, logger);
const server = createHttpServer(app);
await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));

const flushTimer = setInterval(
  () => {
    projector.flushIfDue().catch((error: unknown) => logger.warn('timed flush failed', errorFields(error)));
  },
  Math.max(10, Math.floor(config.FLUSH_MAX_DELAY_MS / 4)),
);
const lagTimer = setInterval(() => {
  source.lag(config.KAFKA_TOPIC, projector.applied()).then(
    (lag) => {
      for (const [partition, n] of lag) metrics.lag.set({ projection, partition: String(partition) }, n);
    },
    () => {},
  );
}, 5000);

logger.info('listening', { url: `http://${config.HOST}:${(server.address() as AddressInfo).port}`, topic: config.KAFKA_TOPIC, projection });
// Joining the consumer group can wait for a crashed predecessor's session to expire; /health answers meanwhile.
await source.start((batch) => projector.handle(batch));
logger.info('consuming', { topic: config.KAFKA_TOPIC, group: config.AGGREGATES_GROUP_ID });

onShutdownSignal(logger, async () => {
  clearInterval(flushTimer);
  clearInterval(lagTimer);
  await source.stop();
  await projector.flush();
  await Promise.allSettled([deadLetters.close(), store.close()]);
  server.close();
});
