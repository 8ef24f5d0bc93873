#!/usr/bin/env node
// Composition root of the projector: config → adapters → the projections it runs → run.
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
  warnIfTelemetryMissing,
} from '@usertags/runtime';
import express from 'express';
import { createDeadLetterSink, createEventSource } from './adapters/open-event-log.ts';
import { createAggregateProjector } from './aggregates/aggregate-projector.ts';
import { openAggregateStore } from './aggregates/open-aggregate-store.ts';
import { loadConfig } from './config.ts';
import type { EventSource } from './core/event-source.ts';
import { throttlePositionCommits } from './core/position-commits.ts';
import { createLogGuard, type LogGuard, untilFollowing } from './log-guard.ts';
import { createProjectorMetrics } from './metrics.ts';
import { openProfileStore } from './profiles/open-profile-store.ts';
import { createProfileProjector } from './profiles/profile-projector.ts';
import type { ProfileLive } from './profiles/profile-versions.ts';

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
  const store = openAggregateStore(config.DATABASE_URL);
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
          await new Promise((r) => setTimeout(r, Math.min(5000, 250 * attempt)));
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
  const store = await openProfileStore({
    aerospikeHosts: config.AEROSPIKE_HOSTS,
    aerospikeNamespace: config.AEROSPIKE_NAMESPACE,
    aerospikeSet: config.AEROSPIKE_SET,
    path: config.PROFILE_STORE_PATH,
  });
  const events = source(config.PROFILES_GROUP_ID);
  const positions = throttlePositionCommits(
    (topic, progress) => events.commit(topic, progress),
    config.POSITION_COMMIT_INTERVAL_MS,
    (error) => logger.warn('committing the profile positions failed; retrying with the next', errorFields(error)),
  );
  const committed = new Map<number, bigint>();
  const projector = createProfileProjector(
    store,
    codec,
    deadLetters,
    {
      onApplied(count, seconds, partition, nextOffset) {
        metrics.eventsApplied.inc({ projection }, count);
        metrics.batchEvents.observe({ projection }, count);
        metrics.flushDuration.observe({ projection }, seconds);
        committed.set(partition, nextOffset);
      },
      onDeadLetter: () => metrics.deadLettered.inc({ projection }),
      onStoreRetry: () => metrics.storeRetries.inc({ projection }),
    },
    logger,
  );
  // The version of the profiles this writer is on. When a replay makes another one live, the writer
  // goes back to where the replay stopped reading (re-applying is harmless) and writes the new one.
  let following: ProfileLive | undefined;
  // The switch happens in the handler, so a replay that goes live while no tags arrive would leave what came
  // after its stop only in the old version until the next tag. Looking now and then and sending the reader
  // back to where the replay stopped re-delivers those records, and the handler switches at once.
  let watch: NodeJS.Timeout | undefined;
  const switched = (live: ProfileLive) => following !== undefined && live.version !== following.version;
  const readFromResume = (live: ProfileLive) => {
    for (const [partition, offset] of live.resumeFrom) events.seek(config.KAFKA_TOPIC, partition, offset);
  };
  /** Where each partition starts (on this start and on every later assignment): what this writer applied last. */
  const resetPositions = (positions: ReadonlyMap<number, bigint>) => {
    committed.clear();
    for (const [partition, offset] of positions) committed.set(partition, offset);
  };
  /** Where the writer of `live` goes on from: the store's own positions, or where the replay stopped until it has adopted them. */
  const positionsOf = async (live: ProfileLive) => (live.adopted ? store.positions(config.KAFKA_TOPIC) : live.resumeFrom);
  const lookForSwitch = async () => {
    const live = await store.current();
    if (switched(live)) readFromResume(live);
  };
  const guard = createLogGuard(
    projection,
    config.KAFKA_TOPIC,
    events,
    {
      binding: async () => (await store.current()).log,
      bind: (identity) => store.bindLog(identity),
      positions: async () => positionsOf(await store.current()),
    },
    guardObserver(projection),
    logger,
  );
  return {
    name: projection,
    guard,
    ready: () => store.migrate(),
    // At-least-once: the store records each batch's position with it, and a writer starts from the store's
    // positions (from 0 where it has none: re-applying is harmless, skipping is not). The group's committed
    // offsets (at most every POSITION_COMMIT_INTERVAL_MS) are a hint for lag and tools only.
    async start() {
      await untilFollowing(guard, config.LOG_CHECK_INTERVAL_MS, logger, () => stopping);
      following = await store.current();
      resetPositions(await positionsOf(following));
      await events.start(
        async (batch) => {
          const live = await store.current();
          if (switched(live)) {
            following = live;
            // Positions noted for the old version must not move the group past where the new one resumes.
            positions.forget();
            resetPositions(live.resumeFrom);
            readFromResume(live);
            throw new Error(`profiles version ${live.version} is live now; reading again from where its replay stopped`);
          }
          await projector.handle(batch);
          if (!live.adopted) await store.adopt(live.version);
          const last = batch.records.at(-1);
          if (last !== undefined) positions.note(batch.topic, batch.partition, last.offset + 1n);
        },
        { startFrom: (_topic, partition) => committed.get(partition) ?? 0n },
      );
      watch = setInterval(() => {
        lookForSwitch().catch((error: unknown) => logger.debug('looking for a new profiles version failed', errorFields(error)));
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
    applied: () => committed,
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
    r.guard.check().then(
      () => {
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
      },
      (error: unknown) => logger.debug('could not compare the read model with the event log', errorFields(error)),
    );
  }
}, config.LOG_CHECK_INTERVAL_MS);

onShutdownSignal(logger, async () => {
  stopping = true;
  clearInterval(checkTimer);
  await Promise.allSettled(running.map((r) => r.stop()));
  await deadLetters.close();
  server.close();
});

// Joining a consumer group can wait for a crashed predecessor's session to expire; /health answers meanwhile.
await Promise.all(running.map((r) => r.start()));
logger.info('consuming', { topic: config.KAFKA_TOPIC, projections: config.PROJECTIONS });
