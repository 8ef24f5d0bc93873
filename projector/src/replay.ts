#!/usr/bin/env node
// projector replay aggregates|profiles|all [--stack]
//
// Rebuilds a read model from offset 0 into a new version while the live one
// keeps serving, switches readers and the live projector to it once it has
// caught up with the log, then drops the old version. Same configuration as
// the projector (EVENT_LOG, AGGREGATES, PROFILES, or the deprecated DATABASE_URL,
// EVENT_LOG_PATH / KAFKA_*, AEROSPIKE_* / PROFILE_STORE_PATH), with the defaults of `start`
// (runtime/src/local-defaults.ts): the embedded files under DATA_DIR (./data),
// or with --stack, as `start --stack`, the local Kafka and PostgreSQL.
// Progress goes to stderr once a second; a summary line (JSON) goes to stdout
// at the end. A log or store it cannot reach (within STORE_TIMEOUT_MS) or
// cannot find is one line on stderr and exit code 1.
import { createEventCodec, type DeadLetterSink, type EventSource, type LogDescription } from '@usertags/contracts';
import {
  LIVE_VERSION_CACHE_MS,
  openAggregateStore,
  openAggregateVersions,
  openProfileVersioning,
  PROFILE_VERSION_CACHE_MS,
} from '@usertags/read-models';
import { createLogger, loadConfigOrExit, sleep } from '@usertags/runtime';
import { localDefaults } from '@usertags/runtime/local-defaults';
import { createEventSource } from './adapters/open-event-log.ts';
import { oneLine, reachStores, Unreachable } from './adapters/reach-stores.ts';
import { loadConfig } from './config.ts';
import { createAggregateProjector } from './core/aggregate-projector.ts';
import { judgeBinding } from './core/log-binding.ts';
import { createProfileProjector } from './core/profile-projector.ts';

const USAGE = 'usage: projector replay aggregates|profiles|all [--stack]';
const stack = process.argv.includes('--stack');
const args = process.argv.slice(2).filter((a) => a !== '--stack');
if (args[0] === 'replay') args.shift();
const target = args[0];
if ((target !== 'aggregates' && target !== 'profiles' && target !== 'all') || args.length > 1) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}

/** Stops with one line on stderr: what went wrong and which setting to look at. */
function fail(error: unknown): never {
  const debug = process.env.LOG_LEVEL === 'debug' && !(error instanceof Unreachable);
  const line = error instanceof Unreachable ? error.message : `replay ${target} failed: ${oneLine(error)}`;
  process.stderr.write(`projector replay: ${line}\n${debug && error instanceof Error ? `${error.stack}\n` : ''}`);
  process.exit(1);
}
// A store that goes away mid-replay may fail in a callback (a pool's idle client): still one line.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

const defaults = localDefaults(stack);
const config = loadConfigOrExit('projector replay', () => loadConfig({ ...process.env, ...defaults.storage }));
const storeTimeoutMs = Number(process.env.STORE_TIMEOUT_MS ?? '10000');
// Standard output carries the summaries (one JSON line per projection); the log goes to standard error.
const logger = createLogger('replay', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, (line) => process.stderr.write(line));
const codec = createEventCodec();
const topic = config.KAFKA_TOPIC;

/** The live projection has parked undecodable records already; a replay counts them and parks nothing twice. */
function countingSink(): DeadLetterSink & { count: number } {
  return {
    count: 0,
    async park() {
      this.count++;
    },
    async close() {},
  };
}

interface Summary {
  readonly projection: string;
  readonly from: number;
  readonly to: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly deadLettered: number;
}

/**
 * Reads until the replayed version is within `slack` events of the end of the log, printing
 * progress; then runs `trySwitch`, and goes on reading while it answers false.
 */
async function catchUp(
  label: string,
  events: EventSource,
  applied: () => ReadonlyMap<number, bigint>,
  slack: number,
  trySwitch: () => Promise<boolean>,
): Promise<void> {
  const started = performance.now();
  let lastPrint = 0;
  for (;;) {
    await sleep(100);
    const lag = await events.lag(topic, applied());
    const behind = [...lag.values()].reduce((s, n) => s + n, 0);
    const done = [...applied().values()].reduce((s, n) => s + Number(n), 0);
    const now = performance.now();
    if (now - lastPrint >= 1000) {
      lastPrint = now;
      const rate = done / ((now - started) / 1000);
      const total = done + behind;
      const share = total === 0 ? 100 : (100 * done) / total;
      process.stderr.write(
        `[replay ${label}] ${done.toLocaleString('en')} of ${total.toLocaleString('en')} events (${share.toFixed(1)} %), ${Math.round(rate).toLocaleString('en')} events/s\n`,
      );
    }
    if (behind <= slack && (await trySwitch())) return;
  }
}

/** The log as the replay finds it; a replay binds the version it builds to it. */
async function describeLog(events: EventSource): Promise<LogDescription> {
  const log = await events.describe(topic);
  if (log === undefined) throw new Error(`topic ${topic} does not exist: there is nothing to replay`);
  return log;
}

/** Whether `applied` has reached, on every partition, where the log ended when the replay began. */
function reached(log: LogDescription, applied: ReadonlyMap<number, bigint>): boolean {
  return [...log.partitions].every(([partition, { end }]) => (applied.get(partition) ?? 0n) >= end);
}

async function replayAggregates(): Promise<Summary> {
  const versions = openAggregateVersions(config.aggregates.url);
  const live = openAggregateStore(config.aggregates.url);
  await live.migrate();
  await live.close();
  const from = await versions.live();
  const to = from + 1;
  await versions.prepare(to);
  const store = openAggregateStore(config.aggregates.url, { version: to });
  const sink = countingSink();
  const events = createEventSource(config, `${config.AGGREGATES_GROUP_ID}-replay-v${to}`, logger);
  const log = await describeLog(events);
  await store.bindLog(topic, log.identity);
  // A live version built from another log (a recreated topic, another cluster) is replaced, not caught up with.
  const liveStore = openAggregateStore(config.aggregates.url, { version: from });
  const replacingForeign = judgeBinding(await liveStore.logBinding(topic), log, await liveStore.loadOffsets(topic)).kind === 'refuse';
  await liveStore.close();
  let applied = 0;
  const projector = createAggregateProjector(
    store,
    codec,
    sink,
    {
      topic,
      maxEvents: config.FLUSH_MAX_EVENTS,
      maxDelayMs: config.FLUSH_MAX_DELAY_MS,
      retentionMs: config.RETENTION_HOURS * 3_600_000,
      confirmations: config.RETENTION_CONFIRMATIONS,
    },
    {
      onFlush: (count) => {
        applied += count;
      },
      onDeadLetter: () => {},
      onLateEvent: () => {},
      onStoreRetry: () => {},
      onApplied: () => {},
      onReload: (offsets) => {
        for (const [partition, offset] of offsets) events.seek(topic, partition, offset);
      },
    },
    logger,
  );
  await projector.init();
  const started = performance.now();
  const timer = setInterval(() => void projector.flushIfDue().catch(() => {}), 50);
  await events.start((batch) => projector.handle(batch), { startFrom: (_topic, partition) => projector.applied().get(partition) ?? 0n });
  // Close to the end: write what is buffered and try to switch. The switch succeeds once this version's
  // offsets have reached the live version's, which the live projector keeps moving.
  await catchUp(
    `aggregates v${from} → v${to}`,
    events,
    () => projector.applied(),
    config.FLUSH_MAX_EVENTS,
    async () => {
      // Replacing a foreign version: nothing to catch up with but the log itself, as it was at the start.
      if (replacingForeign && !reached(log, projector.applied())) return false;
      await projector.flush();
      return versions.switchTo(to, topic, { replacingForeign });
    },
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  await events.stop();
  // The live projector owns version `to` now; what this one still holds is either stored or refused.
  await projector.flush().catch(() => {});
  await store.close();
  process.stderr.write(`[replay aggregates] version ${to} is live; dropping version ${from}\n`);
  await sleep(3 * LIVE_VERSION_CACHE_MS);
  await versions.drop(from);
  await versions.close();
  return { projection: 'aggregates', from, to, events: applied, seconds, eventsPerSecond: applied / seconds, deadLettered: sink.count };
}

async function replayProfiles(): Promise<Summary> {
  const versioning = await openProfileVersioning({
    ...config.profiles,
  });
  const current = await versioning.catalog.read();
  const from = current.version;
  const to = from + 1;
  await versioning.drop(to); // what an abandoned replay may have left
  const store = await versioning.open(to);
  await store.migrate();
  const sink = countingSink();
  const positions = new Map<number, bigint>();
  let applied = 0;
  const projector = createProfileProjector(
    store,
    codec,
    sink,
    {
      onApplied(count, _seconds, partition, nextOffset) {
        applied += count;
        positions.set(partition, nextOffset);
      },
      onDeadLetter: () => {},
      onStoreRetry: () => {},
    },
    logger,
  );
  const events = createEventSource(config, `${config.PROFILES_GROUP_ID}-replay-v${to}`, logger);
  const log = await describeLog(events);
  // The live version's own positions (recorded with its batches), as the live writer starts from them.
  const liveStore = await versioning.open(from);
  const livePositions = () => liveStore.positions(topic);
  const replacingForeign = judgeBinding(current.log, log, current.adopted ? await livePositions() : current.resumeFrom).kind === 'refuse';
  const started = performance.now();
  await events.start((batch) => projector.handle(batch), { startFrom: (_topic, partition) => positions.get(partition) ?? 0n });
  let partitions: number[] = [];
  // Switch once this version has everything the live one has: its positions have reached the live
  // version's on every partition.
  const caughtUp = async () => {
    if (replacingForeign && !reached(log, positions)) return false;
    const live = replacingForeign ? new Map<number, bigint>() : await livePositions();
    if ([...live].some(([partition, offset]) => (positions.get(partition) ?? 0n) < offset)) return false;
    partitions = [...(await events.lag(topic, new Map())).keys()];
    return true;
  };
  await catchUp(`profiles v${from} → v${to}`, events, () => positions, 1000, caughtUp);
  await events.stop();
  const seconds = (performance.now() - started) / 1000;
  // The live projector goes back to these offsets and re-applies what came after (idempotent).
  const resumeFrom = new Map(partitions.map((partition) => [partition, positions.get(partition) ?? 0n]));
  await versioning.catalog.write({ version: to, resumeFrom, adopted: false, log: log.identity });
  await store.close();
  await liveStore.close();
  process.stderr.write(`[replay profiles] version ${to} is live; dropping version ${from}\n`);
  await sleep(3 * PROFILE_VERSION_CACHE_MS);
  await versioning.drop(from);
  await versioning.catalog.close();
  return { projection: 'profiles', from, to, events: applied, seconds, eventsPerSecond: applied / seconds, deadLettered: sink.count };
}

try {
  await reachStores(config, {
    aggregates: target !== 'profiles',
    profiles: target !== 'aggregates',
    timeoutMs: storeTimeoutMs,
    missingLogHint:
      stack || process.env.EVENT_LOG !== undefined || process.env.EVENT_LOG_PATH !== undefined
        ? 'nothing has been started with it'
        : `nothing has been started with DATA_DIR=${defaults.dataDir}; run ./run.sh start first, or pass --stack for the Kafka and PostgreSQL of start:stack`,
  });
  const summaries: Summary[] = [];
  if (target === 'aggregates' || target === 'all') summaries.push(await replayAggregates());
  if (target === 'profiles' || target === 'all') summaries.push(await replayProfiles());
  for (const s of summaries) {
    process.stdout.write(
      `${JSON.stringify({ ...s, seconds: Number(s.seconds.toFixed(2)), eventsPerSecond: Math.round(s.eventsPerSecond) })}\n`,
    );
  }
} catch (error) {
  fail(error);
}
process.exit(0);
