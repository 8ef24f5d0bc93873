import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { UserTagInput } from '@usertags/contracts';
import {
  aggregateStream,
  aggregatesQueryString,
  allQueryShapes,
  createTestDatabase,
  createTopic,
  deleteTopic,
  expectedAggregates,
  expectedProfile,
  ProgramProcess,
  postTag,
  TEST_BROKERS,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '@usertags/testkit';

// `projector replay all` while the system runs: queries keep answering correctly during the
// replay, tags sent during it are counted, and afterwards the answers are what they were.
const repo = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const MIN = 60_000;
const BEFORE = Date.UTC(2022, 2, 22, 12, 0);
const DURING = BEFORE + 10 * MIN;
const first = aggregateStream({ seed: 11, count: 2500, startMs: BEFORE, minutes: 3 });
const second = aggregateStream({ seed: 12, count: 600, startMs: DURING, minutes: 2 });
const AFTER = DURING + 10 * MIN;
const third = aggregateStream({ seed: 13, count: 500, startMs: AFTER, minutes: 2 });
const cookies = ['cookie-3', 'cookie-99', 'cookie-420'];

/** Tags of one millisecond may be listed in either order; compare them in a fixed one. */
function canonical(answer: { cookie: string; views: UserTagInput[]; buys: UserTagInput[] }) {
  const order = (xs: UserTagInput[]) =>
    [...xs].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return { cookie: answer.cookie, views: order(answer.views), buys: order(answer.buys) };
}

/** Sends a tag until it is stored: a 503 means it was not, and a careful client sends it again. */
async function store(ingest: string, tag: UserTagInput): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const status = (await postTag(ingest, tag)).status;
    if (status !== 503 || attempt === 20) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const range = (fromMs: number, toMs: number) =>
  `${new Date(fromMs).toISOString().slice(0, -1)}_${new Date(toMs).toISOString().slice(0, -1)}`;

/** Every answer about `tags` in [fromMs, toMs), as the oracle has them. */
function oracle(tags: readonly UserTagInput[], fromMs: number, toMs: number) {
  return {
    aggregates: allQueryShapes(fromMs, toMs).map((q) => expectedAggregates(tags, q)),
    profiles: cookies.map((c) => canonical(expectedProfile(tags, c, fromMs, toMs, 200) as never)),
  };
}

async function answers(query: string, fromMs: number, toMs: number) {
  const aggregates: unknown[] = [];
  for (const q of allQueryShapes(fromMs, toMs)) {
    const res = await fetch(`${query}/aggregates?${aggregatesQueryString(q)}`);
    assert.equal(res.status, 200);
    aggregates.push(await res.json());
  }
  const profiles: unknown[] = [];
  for (const cookie of cookies) {
    const res = await fetch(`${query}/user_profiles/${cookie}?time_range=${range(fromMs, toMs)}`);
    assert.equal(res.status, 200);
    profiles.push(canonical((await res.json()) as never));
  }
  return { aggregates, profiles };
}

interface Mode {
  readonly name: string;
  /** The replay CLI's flags: `--stack` for Kafka and PostgreSQL, as `start --stack`. */
  readonly flags: string[];
  setUp(dir: string): Promise<Record<string, string>>;
  tearDown(): Promise<void>;
}

const modes: Mode[] = [
  (() => {
    let database: TestDatabase;
    const topic = uniqueName('replay');
    return {
      name: 'Kafka and PostgreSQL',
      flags: ['--stack'],
      async setUp(dir) {
        database = await createTestDatabase('replay');
        await createTopic(topic, 4);
        return {
          KAFKA_BROKERS: TEST_BROKERS.join(','),
          KAFKA_TOPIC: topic,
          KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
          AGGREGATES_GROUP_ID: uniqueName('aggregates'),
          PROFILES_GROUP_ID: uniqueName('profiles'),
          DATABASE_URL: database.url,
          PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
        };
      },
      async tearDown() {
        await deleteTopic(topic);
        await deleteTopic(`${topic}.dead-letter`);
        await database.drop();
      },
    };
  })(),
  {
    name: 'the embedded log and stores',
    flags: [],
    async setUp(dir) {
      return {
        KAFKA_BROKERS: '127.0.0.1:1',
        EVENT_LOG_PATH: join(dir, 'events.sqlite'),
        DATABASE_URL: `sqlite:${join(dir, 'aggregates.sqlite')}`,
        PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
      };
    },
    async tearDown() {},
  },
];

for (const mode of modes) {
  describe(`projector replay all, on ${mode.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'usertags-replay-'));
    let env: Record<string, string>;
    const programs: ProgramProcess[] = [];
    let ingest: string;
    let query: string;
    let before1: Awaited<ReturnType<typeof answers>>;

    before(async () => {
      env = { ...(await mode.setUp(dir)), FLUSH_MAX_DELAY_MS: '100', FETCH_MAX_WAIT_MS: '50' };
      // With AEROSPIKE_HOSTS set, profiles (and their versions) live in a set of this test's own.
      if (process.env.AEROSPIKE_HOSTS) env.AEROSPIKE_SET = uniqueName('replay').replace('-', '_');
      programs.push(
        new ProgramProcess('command-api', { ...env, PORT: '0' }),
        new ProgramProcess('projector', { ...env, PORT: '0' }),
        new ProgramProcess('query-api', { ...env, PORT: '0' }),
      );
      const [ingestUrl, , queryUrl] = (await Promise.all(programs.map((p) => p.ready()))) as [string, string, string];
      ingest = ingestUrl;
      query = queryUrl;
      for (let i = 0; i < first.length; i += 100) {
        const statuses = await Promise.all(first.slice(i, i + 100).map((t) => store(ingest, t)));
        assert.deepEqual([...new Set(statuses)], [204]);
      }
      const want = oracle(first, BEFORE, BEFORE + 3 * MIN);
      await waitFor(
        async () => JSON.stringify(await answers(query, BEFORE, BEFORE + 3 * MIN)) === JSON.stringify(want),
        60_000,
        () => 'the live read models hold the first tags',
      );
      before1 = await answers(query, BEFORE, BEFORE + 3 * MIN);
    });

    after(async () => {
      await Promise.all(programs.map((p) => p.kill()));
      await mode.tearDown();
      rmSync(dir, { recursive: true, force: true });
    });

    it('rebuilds both read models while queries keep answering, and counts the tags sent meanwhile', async () => {
      const replay = run(process.execPath, [join(repo, 'projector/src/replay.ts'), 'replay', 'all', ...mode.flags], {
        env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
        timeout: 120_000,
      });
      let finished = false;
      const done = replay.finally(() => {
        finished = true;
      });
      // While it runs: answers about the first tags stay exact, and new tags keep arriving.
      let checks = 0;
      let sent = 0;
      while (!finished) {
        if (sent < second.length) {
          const batch = second.slice(sent, sent + 50);
          const statuses = await Promise.all(batch.map((t) => store(ingest, t)));
          assert.deepEqual([...new Set(statuses)], [204], 'tags sent during the replay are stored');
          sent += batch.length;
        }
        assert.deepEqual(await answers(query, BEFORE, BEFORE + 3 * MIN), before1, `answers during the replay (check ${checks})`);
        checks++;
      }
      const { stdout } = await done;
      for (; sent < second.length; sent += 50) await Promise.all(second.slice(sent, sent + 50).map((t) => store(ingest, t)));
      const summaries = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { projection: string; from: number; to: number; events: number });
      assert.deepEqual(
        summaries.map((s) => [s.projection, s.from, s.to]),
        [
          ['aggregates', 1, 2],
          ['profiles', 1, 2],
        ],
      );
      assert.ok(checks >= 1, 'queries ran during the replay');
      for (const s of summaries) assert.ok(s.events >= first.length, `${s.projection} replayed every tag sent before it: ${stdout}`);

      // After the switch: the same answers, and every tag sent during the replay is counted.
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(await answers(query, BEFORE, BEFORE + 3 * MIN), before1);
      const wantDuring = oracle(second, DURING, DURING + 2 * MIN);
      await waitFor(
        async () => JSON.stringify(await answers(query, DURING, DURING + 2 * MIN)) === JSON.stringify(wantDuring),
        30_000,
        () => 'the tags sent during the replay are in the new version',
      );

      // The live projector writes the new version from now on.
      for (let i = 0; i < third.length; i += 100) await Promise.all(third.slice(i, i + 100).map((t) => store(ingest, t)));
      const wantAfter = oracle(third, AFTER, AFTER + 2 * MIN);
      await waitFor(
        async () => JSON.stringify(await answers(query, AFTER, AFTER + 2 * MIN)) === JSON.stringify(wantAfter),
        30_000,
        () => 'the tags sent after the replay are in the new version',
      );
      assert.deepEqual(await answers(query, BEFORE, BEFORE + 3 * MIN), before1);
      if (!process.env.AEROSPIKE_HOSTS) {
        assert.equal(existsSync(join(dir, 'profiles.sqlite')), false, 'the old profile version is dropped');
        assert.equal(existsSync(join(dir, 'profiles.sqlite.v2')), true);
      }
    });
  });
}
