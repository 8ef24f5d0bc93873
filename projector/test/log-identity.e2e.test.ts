import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { UserTagInput } from '@usertags/contracts';
import {
  copyDatabase,
  createTestDatabase,
  createTopic,
  deleteTopic,
  dropDatabase,
  metricValue,
  ProgramProcess,
  postTag,
  sampleTag,
  TEST_BROKERS,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '@usertags/testkit';

// A read model is bound to the log it was built from (docs/reliability.md, "A read model knows its log"):
// a projector that finds another log, or a log that ends before the read model's positions, refuses to
// project — not ready, a metric, an error naming both — instead of skipping every record as applied.
const repo = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const MINUTE = Date.UTC(2022, 2, 22, 12, 0);
const RANGE = '2022-03-22T12:00:00_2022-03-22T12:01:00';
const tag = (n: number, cookie: string): UserTagInput => sampleTag(n, { cookie, action: 'BUY', time: new Date(MINUTE + n).toISOString() });

async function count(query: string): Promise<number> {
  const res = await fetch(`${query}/aggregates?time_range=${RANGE}&action=BUY&aggregates=COUNT`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { rows: string[][] };
  return Number(body.rows[0]?.[2]);
}

async function buysOf(query: string, cookie: string): Promise<number> {
  const res = await fetch(`${query}/user_profiles/${cookie}?time_range=2022-03-22T12:00:00.000_2022-03-22T12:01:00.000`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { buys: unknown[] }).buys.length;
}

async function sendAll(ingest: string, tags: readonly UserTagInput[]): Promise<void> {
  for (const t of tags) {
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 204; attempt++) {
      status = (await postTag(ingest, t)).status;
      if (status !== 204) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 204);
  }
}

async function readiness(url: string): Promise<{ status: number; body: { code?: string; detail?: string } }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as { code?: string; detail?: string } };
}

async function waitApplied(projector: string, n: number, projections: readonly string[]): Promise<void> {
  for (const projection of projections) {
    await waitFor(
      async () => (await metricValue(projector, `projector_events_applied_total{projection="${projection}"}`)) >= n,
      60_000,
      () => `${projection} applies ${n} tags`,
    );
  }
}

type Program = 'command-api' | 'projector' | 'query-api';

/** The three programs over one log and one set of stores, started and stopped together. */
class System {
  readonly programs = new Map<Program, ProgramProcess>();
  readonly urls = { ingest: '', projector: '', query: '' };
  env: Record<string, string> = {};

  async start(...which: Program[]): Promise<void> {
    const started = which.map((pkg) => {
      const p = new ProgramProcess(pkg, { ...this.env, PORT: '0' });
      this.programs.set(pkg, p);
      return p.ready().then((url) => {
        this.urls[pkg === 'command-api' ? 'ingest' : pkg === 'projector' ? 'projector' : 'query'] = url;
      });
    });
    await Promise.all(started);
  }

  startAll(): Promise<void> {
    return this.start('command-api', 'projector', 'query-api');
  }

  /** Stops every program cleanly (so SQLite files are whole, checkpointed, when copied). */
  async stopAll(): Promise<void> {
    for (const p of this.programs.values()) {
      p.signal('SIGTERM');
      await p.waitForExit();
    }
    this.programs.clear();
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.programs.values()].map((p) => p.kill()));
    this.programs.clear();
  }

  output(pkg: Program): string {
    return this.programs.get(pkg)?.output.join('') ?? '';
  }
}

/** Programs on a Kafka topic of their own and a PostgreSQL database of their own, checking the log often. */
const kafkaEnv = (topic: string, databaseUrl: string): Record<string, string> => ({
  KAFKA_BROKERS: TEST_BROKERS.join(','),
  KAFKA_TOPIC: topic,
  KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
  DATABASE_URL: databaseUrl,
  AGGREGATES_GROUP_ID: `${topic}-aggregates`,
  PROFILES_GROUP_ID: `${topic}-profiles`,
  FLUSH_MAX_DELAY_MS: '100',
  LOG_CHECK_INTERVAL_MS: '300',
});

describe('a Kafka topic deleted and created again under a running system', () => {
  const topic = uniqueName('log-identity');
  const dir = mkdtempSync(join(tmpdir(), 'usertags-log-identity-'));
  let database: TestDatabase;
  const system = new System();
  const { urls } = system;
  const oldTags = Array.from({ length: 60 }, (_, i) => tag(i, `old-${i % 3}`));
  const newTags = Array.from({ length: 25 }, (_, i) => tag(100 + i, `new-${i % 5}`));

  before(async () => {
    database = await createTestDatabase('log_identity');
    await createTopic(topic, 2);
    system.env = { ...kafkaEnv(topic, database.url), PROFILE_STORE_PATH: join(dir, 'profiles.sqlite') };
    await system.startAll();
    await sendAll(urls.ingest, oldTags);
    await waitApplied(urls.projector, oldTags.length, ['aggregates', 'profiles']);
    assert.equal(await count(urls.query), oldTags.length);
  });

  after(async () => {
    await system.killAll();
    await deleteTopic(topic).catch(() => {});
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the new topic: not ready, a metric and an error naming both logs, and the read models untouched', async () => {
    await system.killAll();
    await deleteTopic(topic);
    await waitFor(
      async () =>
        createTopic(topic, 2).then(
          () => true,
          () => false,
        ),
      30_000,
      () => 'the topic can be created again',
    );
    await system.start('command-api');
    await sendAll(urls.ingest, newTags);
    await system.start('projector', 'query-api');

    await waitFor(
      async () => (await readiness(urls.projector)).status === 503,
      20_000,
      () => `the projector is not ready:\n${system.output('projector')}`,
    );
    const { body } = await readiness(urls.projector);
    assert.equal(body.code, 'LOG_MISMATCH');
    assert.match(body.detail ?? '', /built from log kafka:[^ ]+\/[0-9a-f]{32}, but the log found is kafka:[^ ]+\/[0-9a-f]{32}/);
    // Each projection checks its own log (readiness is 503 once the first of them has refused).
    for (const projection of ['aggregates', 'profiles']) {
      await waitFor(
        async () => (await metricValue(urls.projector, `projector_log_mismatch{projection="${projection}"}`)) === 1,
        10_000,
        () => `${projection}: projector_log_mismatch is not 1`,
      );
    }
    assert.ok(
      system.programs
        .get('projector')
        ?.loggedAt('error')
        .some((l) => l.includes('does not match the event log') && l.includes('projector replay')),
      'an error says what is wrong and what to do',
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await count(urls.query), oldTags.length, 'the new tags are neither counted on top of the old ones nor lost as "applied"');
    assert.equal(await buysOf(urls.query, 'new-0'), 0);
    assert.equal(await metricValue(urls.projector, 'projector_events_applied_total{projection="aggregates"}'), 0);
  });

  it('projects the new topic exactly once `projector replay all` has rebuilt the read models from it', async () => {
    const { stdout } = await run(process.execPath, [join(repo, 'projector/src/replay.ts'), 'all', '--stack'], {
      env: { ...process.env, ...system.env, LOG_LEVEL: 'warn' },
      timeout: 120_000,
    });
    const summaries = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { projection: string; events: number });
    assert.deepEqual(
      summaries.map((s) => [s.projection, s.events]),
      [
        ['aggregates', newTags.length],
        ['profiles', newTags.length],
      ],
    );
    await waitFor(
      async () => (await readiness(urls.projector)).status === 200,
      20_000,
      () => 'the projector follows the rebuilt read models',
    );
    assert.equal(await metricValue(urls.projector, 'projector_log_mismatch{projection="aggregates"}'), 0);
    await waitFor(
      async () => (await count(urls.query)) === newTags.length,
      10_000,
      () => "the aggregates are the new topic's",
    );
    assert.equal(await buysOf(urls.query, 'new-0'), 5);
    assert.equal(await buysOf(urls.query, 'old-0'), 0, 'the old topic is gone from the profiles too');

    const more = Array.from({ length: 10 }, (_, i) => tag(200 + i, 'new-0'));
    await sendAll(urls.ingest, more);
    await waitFor(
      async () => (await count(urls.query)) === newTags.length + more.length && (await buysOf(urls.query, 'new-0')) === 15,
      20_000,
      () => 'tags sent after the rebuild are projected',
    );
  });
});

describe('an aggregate store in PostgreSQL restored from an older backup', () => {
  const topic = uniqueName('store-backup');
  let database: TestDatabase;
  const system = new System();
  const { urls } = system;
  const first = Array.from({ length: 40 }, (_, i) => tag(i, `p-${i % 4}`));
  const second = Array.from({ length: 30 }, (_, i) => tag(1000 + i, `p-${i % 4}`));

  before(async () => {
    database = await createTestDatabase('store_backup');
    await createTopic(topic, 2);
    system.env = { ...kafkaEnv(topic, database.url), PROJECTIONS: 'aggregates' };
  });

  after(async () => {
    await system.killAll();
    await deleteTopic(topic).catch(() => {});
    await database?.drop();
    await dropDatabase(`${database.name}_backup`).catch(() => {});
  });

  it("resumes from the backup's own positions: every tag counted once, the log unchanged", async () => {
    await system.startAll();
    await sendAll(urls.ingest, first);
    await waitApplied(urls.projector, first.length, ['aggregates']);
    await system.stopAll();
    await copyDatabase(database.name, `${database.name}_backup`);
    await system.startAll();
    await sendAll(urls.ingest, second);
    await waitApplied(urls.projector, second.length, ['aggregates']);
    assert.equal(await count(urls.query), first.length + second.length);
    await system.stopAll();

    await copyDatabase(`${database.name}_backup`, database.name);
    await system.startAll();
    await waitFor(
      async () => (await count(urls.query)) === first.length + second.length,
      20_000,
      () => 'the restored store re-applies what came after its backup',
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await count(urls.query), first.length + second.length, 'and counts nothing twice');
    assert.equal((await readiness(urls.projector)).status, 200);
  });
});

describe('the embedded log and stores restored from older copies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'usertags-restore-'));
  const backup = join(dir, 'backup');
  const system = new System();
  const { urls } = system;
  system.env = {
    EVENT_LOG_PATH: join(dir, 'events.sqlite'),
    DATABASE_URL: `sqlite:${join(dir, 'aggregates.sqlite')}`,
    PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
    FLUSH_MAX_DELAY_MS: '100',
    LOG_CHECK_INTERVAL_MS: '300',
  };
  const first = Array.from({ length: 40 }, (_, i) => tag(i, `c-${i % 4}`));
  const second = Array.from({ length: 30 }, (_, i) => tag(1000 + i, `c-${i % 4}`));

  const copy = (file: string, from: string, to: string) => {
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(join(to, `${file}${suffix}`), { force: true });
      if (existsSync(join(from, `${file}${suffix}`))) copyFileSync(join(from, `${file}${suffix}`), join(to, `${file}${suffix}`));
    }
  };

  before(async () => {
    await system.startAll();
    await sendAll(urls.ingest, first);
    await waitApplied(urls.projector, first.length, ['aggregates', 'profiles']);
    await system.stopAll();
    mkdirSync(backup, { recursive: true });
    for (const f of ['events.sqlite', 'aggregates.sqlite', 'profiles.sqlite']) copy(f, dir, backup);
    await system.startAll();
    await sendAll(urls.ingest, second);
    await waitApplied(urls.projector, second.length, ['aggregates', 'profiles']);
    assert.equal(await count(urls.query), first.length + second.length);
    await system.stopAll();
  });

  after(async () => {
    await system.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Each cookie's buys in the profile store, as the oracle has them. */
  const profilesExact = async () => {
    for (const cookie of ['c-0', 'c-1', 'c-2', 'c-3']) {
      const want = [...first, ...second].filter((t) => t.cookie === cookie).length;
      if ((await buysOf(urls.query, cookie)) !== want) return false;
    }
    return true;
  };

  it('stores restored from older copies resume from their own positions: every tag counted once, every profile whole', async () => {
    copy('aggregates.sqlite', backup, dir);
    copy('profiles.sqlite', backup, dir);
    await system.startAll();
    await waitFor(profilesExact, 20_000, () => 'the restored profile store re-applies what came after its copy');
    await waitFor(
      async () => (await count(urls.query)) === first.length + second.length,
      20_000,
      () => 'the restored store catches up',
    );
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await count(urls.query), first.length + second.length, 'and counts nothing twice');
    assert.equal((await readiness(urls.projector)).status, 200);
    await system.stopAll();
  });

  it('a log restored from an older copy, behind the read model, is refused: positions past its end', async () => {
    copy('events.sqlite', backup, dir);
    await system.startAll();
    await waitFor(
      async () => (await readiness(urls.projector)).status === 503,
      20_000,
      () => `the projector refuses the older log:\n${system.output('projector')}`,
    );
    const { body } = await readiness(urls.projector);
    assert.equal(body.code, 'LOG_MISMATCH');
    assert.match(body.detail ?? '', /aggregates: the read model has applied partition \d+ up to offset \d+, past the end of log embedded:/);
    assert.equal(await metricValue(urls.projector, 'projector_log_mismatch{projection="aggregates"}'), 1);
    assert.equal(await count(urls.query), first.length + second.length, 'the read model is left as it was');
  });

  it('a new log file (another identity) is refused too', async () => {
    await system.stopAll();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${system.env.EVENT_LOG_PATH}${suffix}`, { force: true });
    await system.startAll();
    await sendAll(urls.ingest, [tag(5000, 'c-0')]);
    await waitFor(
      async () => (await readiness(urls.projector)).status === 503,
      20_000,
      () => 'the projector refuses the new log',
    );
    assert.match((await readiness(urls.projector)).body.detail ?? '', /built from log embedded:[0-9a-f-]+, but the log found is embedded:/);
  });
});
