import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEventCodec, parseUserTag } from '@usertags/contracts';
import { createPostgresAggregateStore, createSqliteProfileStore } from '@usertags/read-models';
import {
  aggregateStream,
  allQueryShapes,
  createTestDatabase,
  createTopic,
  deleteTopic,
  expectedAggregates,
  expectedProfile,
  ProgramProcess,
  readTopic,
  TEST_BROKERS,
  type TestDatabase,
  testPort,
  uniqueName,
  waitFor,
} from '@usertags/testkit';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

const START = Date.UTC(2022, 2, 22, 12, 0);
const MINUTES = 12;
const EVENTS = 50_000;
const KILLS = 5;
const tags = aggregateStream({ seed: 99, count: EVENTS, startMs: START, minutes: MINUTES });
const codec = createEventCodec();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the projector (aggregates and profiles) killed again and again while events flow', () => {
  const topic = uniqueName('aggregates-crash');
  const deadLetterTopic = `${topic}.dead-letter`;
  const groupId = uniqueName('aggregates-crash');
  let database: TestDatabase;
  const profileDir = mkdtempSync(join(tmpdir(), 'crash-profiles-'));
  const profilePath = join(profileDir, 'profiles.sqlite');
  const kafka = new Kafka({ clientId: 'crash-test', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  // Idempotent: a send retried after a slow answer must not store its tags twice, or the oracle below is wrong.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  let projector: ProgramProcess | undefined;
  const poisonOffsets: string[] = [];

  const startProjector = () => {
    projector = new ProgramProcess('projector', {
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      KAFKA_TOPIC: topic,
      KAFKA_DEAD_LETTER_TOPIC: deadLetterTopic,
      AGGREGATES_GROUP_ID: groupId,
      DATABASE_URL: database.url,
      PORT: String(testPort(21)),
      FLUSH_MAX_EVENTS: '3000',
      FLUSH_MAX_DELAY_MS: '100',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      PROJECTIONS: 'aggregates,profiles',
      PROFILES_GROUP_ID: `${groupId}-profiles`,
      PROFILE_STORE_PATH: profilePath,
    });
    return projector.ready();
  };

  before(async () => {
    database = await createTestDatabase('aggregates_crash');
    await createTopic(topic, 4);
    await producer.connect();
  });

  after(async () => {
    await projector?.kill();
    await producer.disconnect();
    await deleteTopic(topic);
    await deleteTopic(deadLetterTopic);
    await database.drop();
    rmSync(profileDir, { recursive: true, force: true });
  });

  it(`survives ${KILLS} SIGKILLs during ${EVENTS.toLocaleString('en')} events, then both read models equal the oracle exactly`, async () => {
    // Producing runs alongside the kills: 50 chunks, a poison record after chunks 10, 25 and 40.
    const producing = (async () => {
      const chunk = EVENTS / 50;
      for (let i = 0; i < EVENTS; i += chunk) {
        const messages = tags.slice(i, i + chunk).map((t) => {
          const parsed = parseUserTag(t);
          assert.ok(parsed.ok);
          return { key: t.cookie, value: codec.encode(parsed.value) };
        });
        await producer.send({ topic, acks: -1, messages });
        if ([10, 25, 40].includes(i / chunk)) {
          const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: 'poison', value: Buffer.from('{"not":"avro"}') }] });
          poisonOffsets.push(`${meta?.partition}:${meta?.baseOffset}`);
        }
        await sleep(150);
      }
    })();

    for (let kill = 0; kill < KILLS; kill++) {
      await startProjector();
      await waitFor(
        () => projector?.output.join('').includes('"msg":"consuming"') ?? false,
        30_000,
        () => 'the projector joins its groups',
      );
      await sleep(700 + kill * 300);
      projector?.signal('SIGKILL');
      await projector?.waitForExit();
    }
    await producing;
    await startProjector();

    // Wait until the store's offsets reach the end of every partition.
    const store = createPostgresAggregateStore({ connectionString: database.url });
    try {
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      const ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
      await admin.disconnect();
      // The log holds exactly what was sent (the tags and three poison records): what the read models
      // are compared with below.
      assert.equal(
        offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0),
        EVENTS + 3,
        'records in the topic',
      );
      let stored = new Map<number, bigint>();
      await waitFor(
        async () => {
          stored = await store.loadOffsets(topic);
          return [...ends].every(([p, end]) => (stored.get(p) ?? 0n) >= end);
        },
        90_000,
        () => `caught up: ${JSON.stringify([...stored].map(([p, o]) => [p, String(o)]))}`,
      );

      for (const q of allQueryShapes(START, START + MINUTES * 60_000).filter((_, i) => i % 4 === 2)) {
        const expected = expectedAggregates(tags, q);
        const got = await store.readBuckets({ action: q.action, filters: q, fromMs: q.fromMs, toMs: q.toMs });
        const byBucket = new Map(got.map((b) => [b.bucketMs, b]));
        for (const [i, row] of expected.rows.entries()) {
          const b = byBucket.get(START + i * 60_000);
          assert.deepEqual([b?.count ?? '0', b?.sumPrice ?? '0'], row.slice(-2), `${JSON.stringify(q)} minute ${i}`);
        }
      }
    } finally {
      await store.close();
    }

    // Profiles: wait for the profile store's own positions (recorded with each batch) to reach the end, then
    // compare cookies with the oracle. (The group's committed offsets are only a hint now.)
    const profiles = createSqliteProfileStore(profilePath);
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    let positions = new Map<number, bigint>();
    await waitFor(
      async () => {
        positions = await profiles.positions(topic);
        return ends.every((e) => (positions.get(e.partition) ?? 0n) >= BigInt(e.high));
      },
      90_000,
      () =>
        `the profile projection caught up: ${JSON.stringify([...positions].map(([p, o]) => [p, String(o)]))}; the projector said:\n${projector?.output.join('').slice(-6000)}`,
    );
    try {
      for (let c = 0; c < 500; c += 7) {
        const cookie = `cookie-${c}`;
        const expected = expectedProfile(tags, cookie, START, START + MINUTES * 60_000, 200);
        const got = await profiles.read(cookie, START, START + MINUTES * 60_000, 200);
        const parse = (texts: readonly string[]) => texts.map((json) => JSON.parse(json));
        assert.deepEqual({ views: parse(got.views), buys: parse(got.buys) }, { views: expected.views, buys: expected.buys }, cookie);
      }
    } finally {
      await profiles.close();
    }

    // The poison records were parked with their reason and origin; the partitions went on past them.
    const parked = await readTopic(deadLetterTopic);
    const parkedOrigins = new Set(parked.map((r) => `${r.headers['x-source-partition']}:${r.headers['x-source-offset']}`));
    for (const origin of poisonOffsets) assert.ok(parkedOrigins.has(origin), `poison record ${origin} is parked`);
    assert.ok(parked.every((r) => (r.headers['x-dead-letter-reason'] ?? '').length > 0));
  });
});
