// bench:replay — how fast `projector replay` rebuilds the read models from offset 0:
//  1. from Kafka into PostgreSQL (aggregates) and into the embedded profile store;
//  2. from the embedded log into the embedded aggregate and profile stores;
// each next to the rate at which the same log is merely read and decoded (the baseline).
// The goal (issue 5) is 50,000 events/s: a day of reference traffic (86.4 M events) in under 30 minutes.
//
//   ./run.sh bench:replay      (BENCH_EVENTS=1000000)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createEventCodec, parseUserTag } from '@usertags/contracts';
import { openEmbeddedLog } from '@usertags/event-log';
import { createTestDatabase, referenceTags } from '@usertags/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { ensureStack, fillTopic, machineLine, readOnlyRate, repo, writeReport } from './support.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const START = Date.UTC(2022, 2, 1, 0, 0);
const run = promisify(execFile);
const codec = createEventCodec();
const dir = mkdtempSync(join(tmpdir(), 'bench-replay-'));

interface Summary {
  projection: string;
  events: number;
  seconds: number;
  eventsPerSecond: number;
}

async function replay(what: 'aggregates' | 'profiles', env: Record<string, string>, flags: string[] = []): Promise<Summary> {
  const { stdout } = await run(process.execPath, [join(repo, 'projector/src/replay.ts'), 'replay', what, ...flags], {
    env: { ...process.env, LOG_LEVEL: 'warn', FLUSH_MAX_EVENTS: '50000', ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string) as Summary;
  console.log(
    `  replay ${what}: ${summary.events.toLocaleString('en')} events in ${summary.seconds} s = ${summary.eventsPerSecond.toLocaleString('en')}/s`,
  );
  return summary;
}

ensureStack();
console.log(`bench:replay on ${machineLine()}: ${EVENTS.toLocaleString('en')} reference events`);

// --- Kafka → PostgreSQL and the embedded profile store ------------------------
const kafka = new Kafka({ clientId: 'bench-replay', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
const topic = `bench-replay-${Date.now()}`;
const filled = await fillTopic(kafka, topic, referenceTags(3, START, EVENTS));
console.log(`filled ${topic} in ${filled.seconds.toFixed(1)} s`);
const kafkaRead = await readOnlyRate(kafka, topic, EVENTS);
console.log(`baseline: Kafka read + decode ${Math.round(kafkaRead).toLocaleString('en')} events/s`);
const database = await createTestDatabase('bench_replay');
const kafkaEnv = {
  KAFKA_TOPIC: topic,
  KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
  DATABASE_URL: database.url,
  PROFILE_STORE_PATH: join(dir, 'kafka-profiles.sqlite'),
};
// --stack: Kafka and PostgreSQL, as `start --stack` (without it the replay CLI takes the embedded files).
const kafkaAggregates = await replay('aggregates', kafkaEnv, ['--stack']);
const kafkaProfiles = await replay('profiles', kafkaEnv, ['--stack']);
await database.drop().catch((error: unknown) => console.warn(`could not drop ${database.name}: ${String(error)}`));
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: [topic] }).catch(() => {});
await admin.disconnect();

// --- the embedded log → the embedded stores ----------------------------------
const logPath = join(dir, 'events.sqlite');
const log = openEmbeddedLog(logPath);
log.ensureTopic('user-tags', 4);
let fillStarted = performance.now();
let chunk: Array<{ key: string; value: Buffer; headers: Record<string, string> }> = [];
for (const tag of referenceTags(3, START, EVENTS)) {
  const parsed = parseUserTag(tag);
  if (!parsed.ok) throw parsed.error;
  chunk.push({ key: tag.cookie, value: codec.encode(parsed.value), headers: {} });
  if (chunk.length === 10_000) {
    log.append('user-tags', chunk);
    chunk = [];
  }
}
if (chunk.length > 0) log.append('user-tags', chunk);
console.log(`filled the embedded log in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);
fillStarted = performance.now();
let decoded = 0;
for (const [partition, end] of log.ends('user-tags')) {
  for (let at = 0n; at < end; ) {
    const records = log.read('user-tags', partition, at, 10_000);
    for (const r of records) if (r.value !== null) codec.decode(r.value);
    decoded += records.length;
    at = (records.at(-1)?.offset ?? end) + 1n;
  }
}
const embeddedRead = decoded / ((performance.now() - fillStarted) / 1000);
log.close();
console.log(`baseline: embedded log read + decode ${Math.round(embeddedRead).toLocaleString('en')} events/s`);
const embeddedEnv = {
  EVENT_LOG_PATH: logPath,
  KAFKA_BROKERS: '127.0.0.1:1',
  DATABASE_URL: `sqlite:${join(dir, 'aggregates.sqlite')}`,
  PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
};
const embeddedAggregates = await replay('aggregates', embeddedEnv);
const embeddedProfiles = await replay('profiles', embeddedEnv);
rmSync(dir, { recursive: true, force: true });

const day = 86_400_000;
const row = (what: string, s: Summary, baseline: number) =>
  `| ${what} | ${Math.round(s.eventsPerSecond).toLocaleString('en')} | ${Math.round(baseline).toLocaleString('en')} | ${(s.eventsPerSecond / baseline).toFixed(2)} | ${(day / s.eventsPerSecond / 60).toFixed(0)} min |`;
const markdown = `
## Replay (\`bench:replay\`)

Reproduce: \`./run.sh bench:replay\` (BENCH_EVENTS=${EVENTS}).
Machine: ${machineLine()}; Kafka, PostgreSQL, the replay and the stores all on it. Run at ${new Date().toISOString()}.
Each replay is \`projector replay <model>\` rebuilding a new version from offset 0 of ${EVENTS.toLocaleString('en')} reference events (nothing live meanwhile).

| replay | events/s | read + decode only, same log (baseline) | ratio | a day of reference traffic (86.4 M) |
|---|---:|---:|---:|---:|
${row('Kafka → PostgreSQL (aggregates)', kafkaAggregates, kafkaRead)}
${row('Kafka → embedded profile store', kafkaProfiles, kafkaRead)}
${row('embedded log → embedded aggregate store', embeddedAggregates, embeddedRead)}
${row('embedded log → embedded profile store', embeddedProfiles, embeddedRead)}

Goal (issue 5): ≥ 50,000 events/s, so that a day of reference traffic rebuilds in under 30 minutes.
`;
writeReport('replay', markdown, {
  machine: machineLine(),
  EVENTS,
  kafkaRead,
  embeddedRead,
  kafkaAggregates,
  kafkaProfiles,
  embeddedAggregates,
  embeddedProfiles,
});
console.log(markdown);
process.exit(0);
