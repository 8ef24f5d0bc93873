#!/usr/bin/env node
// Composition root of the projector: config → adapters → the projections it runs → run.
import type { AddressInfo } from 'node:net';
import { createEventCodec, type EventSource } from '@usertags/contracts';
import { openAggregateStore, openProfileStore } from '@usertags/read-models';
import {
  createHttpServer,
  createLogger,
  errorFields,
  loadConfigOrExit,
  mountFallbacks,
  mountOperational,
  onShutdownSignal,
  sleep,
  warnIfTelemetryMissing,
} from '@usertags/runtime';
import express from 'express';
import { createDeadLetterSink, createEventSource } from './adapters/open-event-log.ts';
import { loadConfig } from './config.ts';
import { createAggregateProjector } from './core/aggregate-projector.ts';
import { createLogGuard, type LogGuard, untilFollowing } from './core/log-guard.ts';
import { throttlePositionCommits } from './core/position-commits.ts';
import { createProfileProjector } from './core/profile-projector.ts';
import { ProfileWriter } from './core/profile-writer.ts';
import { createProjectorMetrics } from './metrics.ts';

const config = loadConfigOrExit('projector', loadConfig);
const logger = createLogger('projector', config.LOG_LEVEL);
warnIfTelemetryMissing(logger, 'projector', config.OTEL_TRACES_EXPORTER);
const metrics = createProjectorMetrics();
const codec = createEventCodec();
const deadLetters = createDeadLetterSink(config, logger);
const source = (groupId: string): EventSource => createEventSource(config, groupId, logger);
/** How often the profile writer looks for a version a replay made live (it also looks before every batch). */
const VERSION_CHECK_MS = 1000;

let stopping = false;
const guardObserver = (projection: string) => ({
  onRefusing: (refusing: boolean) => metrics.logMismatch.set({ projection }, refusing ? 1 : 0),
});

/** A projection as this process runs it: how to get ready, how to consume, how to stop. */
interface Running {
  readonly name: string;
  /** Keeps it from applying a log its read model was not built from. */
  readonly guard: LogGuard;
  ready(): Promise<void>;
  start(): Promise<void>;
  checkReady(): Promise<void>;
  stop(): Promise<void>;
  applied(): ReadonlyMap<number, bigint>;
  /** The partitions this replica reads now; undefined when it reads them all. */
  assigned(): ReadonlySet<number> | undefined;
}

function aggregates(): Running {
  const projection = 'aggregates';
  const store = openAggregateStore(config.aggregates.url);
  const events = source(config.AGGREGATES_GROUP_ID);
  const projector = createAggregateProjector(
    store,
    codec,
    deadLetters,
    {
      topic: config.KAFKA_TOPIC,
      maxEvents: config.FLUSH_MAX_EVENTS,
      maxDelayMs: config.FLUSH_MAX_DELAY_MS,
      retentionMs: config.RETENTION_HOURS * 3_600_000,
      confirmations: config.RETENTION_CONFIRMATIONS,
    },
    {
      onFlush(count, rows, seconds) {
        metrics.eventsApplied.inc({ projection }, count);
        metrics.batchEvents.observe({ projection }, count);
        metrics.batchRows.observe({ projection }, rows);
        metrics.flushDuration.observe({ projection }, seconds);
      },
      onDeadLetter: () => metrics.deadLettered.inc({ projection }),
      onLateEvent: () => metrics.lateEvents.inc({ projection }),
      onStoreRetry: () => metrics.storeRetries.inc({ projection }),
      onApplied(progress) {
        events
          .commit(config.KAFKA_TOPIC, progress)
          .catch((error: unknown) => logger.debug('offset commit hint failed', errorFields(error)));
      },
      onReload(offsets) {
        for (const [partition, offset] of offsets) events.seek(config.KAFKA_TOPIC, partition, offset);
      },
    },
    logger,
  );
  const guard = createLogGuard(
    projection,
    config.KAFKA_TOPIC,
    events,
    {
      binding: () => store.logBinding(config.KAFKA_TOPIC),
      bind: (identity) => store.bindLog(config.KAFKA_TOPIC, identity),
      positions: () => store.loadOffsets(config.KAFKA_TOPIC),
    },
    guardObserver(projection),
    logger,
  );
  let timer: NodeJS.Timeout | undefined;
  return {
    name: projection,
    guard,
    async ready() {
      // The schema may be created by several projector instances at once; the migrator locks.
      for (let attempt = 1; ; attempt++) {
        try {
          await store.migrate();
          await projector.init();
          return;
        } catch (error) {
          logger.warn('waiting for the aggregate store', { attempt, ...errorFields(error) });
          await sleep(Math.min(5000, 250 * attempt));
        }
      }
    },
    async start() {
      await untilFollowing(guard, config.LOG_CHECK_INTERVAL_MS, logger, () => stopping);
      // A replay may have made another version live while this projection refused: start from its offsets.
      await projector.init();
      timer = setInterval(
        () => {
          projector.flushIfDue().catch((error: unknown) => logger.warn('timed flush failed', errorFields(error)));
        },
        Math.max(10, Math.floor(config.FLUSH_MAX_DELAY_MS / 4)),
      );
      // The store's offsets are the truth: start each assigned partition there, whatever the group committed.
      await events.start((batch) => projector.handle(batch), {
        startFrom: (_topic, partition) => projector.applied().get(partition) ?? 0n,
      });
    },
    async checkReady() {
      guard.throwIfRefusing();
      await store.checkReady();
    },
    async stop() {
      clearInterval(timer);
      await events.stop();
      await projector.flush();
      await store.close();
    },
    applied: () => projector.applied(),
    assigned: () => events.assigned?.(),
  };
}

async function profiles(): Promise<Running> {
  const projection = 'profiles';
  const store = await openProfileStore(config.profiles);
  const events = source(config.PROFILES_GROUP_ID);
  const positions = throttlePositionCommits(
    (topic, progress) => events.commit(topic, progress),
    config.POSITION_COMMIT_INTERVAL_MS,
    (error) => logger.warn('committing the profile positions failed; retrying with the next', errorFields(error)),
  );
  const projector = createProfileProjector(
    store,
    codec,
    deadLetters,
    {
      onApplied(count, seconds, partition, nextOffset) {
        metrics.eventsApplied.inc({ projection }, count);
        metrics.batchEvents.observe({ projection }, count);
        metrics.flushDuration.observe({ projection }, seconds);
        writer.noteApplied(partition, nextOffset);
      },
      onDeadLetter: () => metrics.deadLettered.inc({ projection }),
      onStoreRetry: () => metrics.storeRetries.inc({ projection }),
    },
    logger,
  );
  // Follows the version a replay makes live (core/profile-writer.ts).
  const writer = new ProfileWriter({ topic: config.KAFKA_TOPIC, store, events, positions, apply: (batch) => projector.handle(batch) });
  let watch: NodeJS.Timeout | undefined;
  const guard = createLogGuard(
    projection,
    config.KAFKA_TOPIC,
    events,
    {
      binding: async () => (await store.current()).log,
      bind: (identity) => store.bindLog(identity),
      positions: async () => writer.positionsOf(await store.current()),
    },
    guardObserver(projection),
    logger,
  );
  return {
    name: projection,
    guard,
    ready: () => store.migrate(),
    // The group's committed offsets (at most every POSITION_COMMIT_INTERVAL_MS) are a hint for lag and tools only.
    async start() {
      await untilFollowing(guard, config.LOG_CHECK_INTERVAL_MS, logger, () => stopping);
      await writer.begin();
      await events.start((batch) => writer.handle(batch), { startFrom: (_topic, partition) => writer.startFrom(partition) });
      watch = setInterval(() => {
        writer.lookForSwitch().catch((error: unknown) => logger.debug('looking for a new profiles version failed', errorFields(error)));
      }, VERSION_CHECK_MS);
    },
    async checkReady() {
      guard.throwIfRefusing();
      await store.checkReady();
    },
    async stop() {
      clearInterval(watch);
      // What the last batches noted is committed before the source closes; a batch that ends later is applied again on restart.
      await positions.flush();
      await events.stop();
      positions.close();
      await store.close();
    },
    applied: () => writer.applied(),
    assigned: () => events.assigned?.(),
  };
}

const running = await Promise.all(config.PROJECTIONS.map((name) => (name === 'aggregates' ? aggregates() : profiles())));
for (const r of running) {
  metrics.logMismatch.set({ projection: r.name }, 0);
  // The counters alerts and panels read exist from the start at 0, so `increase()` sees the first one.
  for (const counter of [metrics.deadLettered, metrics.storeRetries, metrics.lateEvents]) counter.inc({ projection: r.name }, 0);
  await r.ready();
}

const app = express();
app.disable('x-powered-by');
mountOperational(app, { checkReady: async () => void (await Promise.all(running.map((r) => r.checkReady()))), registry: metrics.registry });
mountFallbacks(app, logger);
const server = createHttpServer(app, {
  headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  logger,
});
await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
logger.info('listening', {
  url: `http://${config.HOST}:${(server.address() as AddressInfo).port}`,
  topic: config.KAFKA_TOPIC,
  projections: config.PROJECTIONS,
});

// Every LOG_CHECK_INTERVAL_MS each projection compares its read model with the log (a topic deleted and created
// again, or the log swapped under it, stops it), and the same look at the log's ends gives the lag.
const checkTimer = setInterval(() => {
  for (const r of running) {
    const recordLag = () => {
      const mine = r.assigned();
      for (const [partition, { start, end }] of r.guard.lastLog()?.partitions ?? []) {
        const labels = { projection: r.name, partition: String(partition) };
        // Another replica of the group reads this partition now: what this one applied there is stale.
        if (mine !== undefined && !mine.has(partition)) {
          metrics.lag.remove(labels);
          continue;
        }
        metrics.lag.set(labels, Math.max(0, Number(end - (r.applied().get(partition) ?? start))));
      }
    };
    r.guard.check().then(recordLag, (error: unknown) => {
      logger.debug('could not compare the read model with the event log', errorFields(error));
      // The store may be what failed: the lag still grows then, and is exactly what an operator must see.
      r.guard.look().then(recordLag, () => {});
    });
  }
}, config.LOG_CHECK_INTERVAL_MS);

onShutdownSignal(
  logger,
  async () => {
    stopping = true;
    clearInterval(checkTimer);
    await Promise.allSettled(running.map((r) => r.stop()));
    await deadLetters.close();
    server.close();
  },
  { deadlineMs: config.SHUTDOWN_TIMEOUT_MS },
);

// Joining a consumer group can wait for a crashed predecessor's session to expire; /health answers meanwhile.
await Promise.all(running.map((r) => r.start()));
logger.info('consuming', { topic: config.KAFKA_TOPIC, projections: config.PROJECTIONS });
