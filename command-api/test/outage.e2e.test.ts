import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createEventCodec, ProblemBody } from '@usertags/contracts';
import {
  assertAcknowledgedStored,
  createTestDatabase,
  createTopic,
  faultTag,
  PrivateBroker,
  ProgramProcess,
  postTag,
  readTopic,
  sampleTag,
  startReadSide,
  TagDriver,
  type TestDatabase,
  tagsInLog,
  testPort,
  waitFor,
  waitForReadModels,
} from '@usertags/testkit';

const codec = createEventCodec();
const TOPIC = 'user-tags';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OUTAGE_MS = 10_000;
// Its own event times, so no tag of the stream shares a time with the SIGTERM test's tags.
const streamTag = (n: number) => faultTag(n, Date.UTC(2022, 2, 23, 12, 0));

describe('the command API when its Kafka broker goes away and comes back', () => {
  const broker = new PrivateBroker(testPort(1));
  const dir = mkdtempSync(join(tmpdir(), 'outage-'));
  const profilePath = join(dir, 'profiles.sqlite');
  let api: ProgramProcess;
  let base: string;

  before(async () => {
    // The API starts first, while nothing listens on the broker's port.
    api = new ProgramProcess('command-api', {
      PORT: String(testPort(2)),
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC: TOPIC,
      APPEND_TIMEOUT_MS: '1000',
    });
    base = await api.ready();
  });

  after(async () => {
    await Promise.all([api, ...readSide].map((p) => p.kill()));
    await broker.destroy();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After, and is not ready, while the broker has never been up', async () => {
    const res = await postTag(base, sampleTag(1));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(ProblemBody.parse(await res.json()).code, 'LOG_UNAVAILABLE');
    assert.equal((await fetch(`${base}/ready`)).status, 503);
  });

  let driver: TagDriver;
  let database: TestDatabase;
  const readSide: ProgramProcess[] = [];
  let queryUrl: string;

  it(`stores tags once the broker is up, answers 503 (never 204) during a ${OUTAGE_MS / 1000} s outage, and recovers by itself`, async (t) => {
    await broker.start();
    // The API could not create the topic at start (the broker was down); stack:up creates it, and so does the test.
    await createTopic(TOPIC, 4, broker.brokers);
    // The read side follows the same broker, so it lives through the outage too.
    database = await createTestDatabase('outage');
    const common = {
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC: TOPIC,
      DATABASE_URL: database.url,
      PROFILE_STORE_PATH: profilePath,
    };
    readSide.push(...startReadSide(common, TOPIC));
    [, queryUrl] = (await Promise.all(readSide.map((p) => p.ready()))) as [string, string];

    // Up: everything is acknowledged (after at most a few seconds of reconnecting).
    // A client that waits 2 s: the tags of a batch in doubt when the broker went away wait for the
    // broker's return (up to 15 s) before they are answered, and their senders go on after 2 s.
    driver = new TagDriver(base, { senders: 4, pauseMs: 5, timeoutMs: 2000, tag: streamTag });
    driver.start();
    await waitFor(
      () => driver.sent.some((s) => s.status === 204),
      20_000,
      () => `no 204 yet: ${JSON.stringify(driver.counts())}`,
    );
    const upFrom = Date.now();
    await sleep(2000);
    const up = driver.within(upFrom, Date.now());
    assert.ok(up.length > 20);
    assert.deepEqual([...new Set(up.map((s) => s.status))], [204], 'all 204 while the broker is up');

    // Down: from the moment the broker is gone, no request may get 204.
    await broker.stop();
    const downFrom = Date.now();
    await sleep(OUTAGE_MS);
    const downTo = Date.now();
    await broker.start();
    // Answered ones: a request the client gave up on (status 0) has no answer to judge.
    const down = driver.within(downFrom, downTo).filter((s) => s.status !== 0);
    assert.ok(down.length > 20, `${down.length} answers during the outage`);
    assert.deepEqual([...new Set(down.map((s) => s.status))], [503], 'all 503 while the broker is down');
    for (const s of down) {
      assert.equal(s.retryAfter, '1');
      assert.ok(s.code === 'LOG_UNAVAILABLE' || s.code === 'OVERLOADED', s.code);
    }

    // Back: ingest resumes without restarting the API.
    const backAt = Date.now();
    await waitFor(
      () => driver.sent.some((s) => s.startedAt > backAt && s.status === 204),
      60_000,
      () => 'ingest resumed after the broker came back',
    );
    await sleep(1000);
    await driver.stop();
    t.diagnostic(`statuses ${JSON.stringify(driver.counts())}; ${down.length} requests during the outage, all 503`);
  });

  it('has every acknowledged tag in the log, exactly once', async () => {
    // Stopped here too: if the test before failed half-way its driver still runs, and a tag
    // acknowledged after the log was read would look lost.
    await driver.stop();
    const stored = await tagsInLog(TOPIC, broker.brokers);
    assertAcknowledgedStored(driver.acknowledged(), stored);
    assert.equal(new Set(stored.map((s) => s.time)).size, stored.length, 'no tag is stored twice');
  });

  it('has every acknowledged tag in both read models after the outage: they equal the oracle over the log', async (t) => {
    const stored = await tagsInLog(TOPIC, broker.brokers);
    const checked = await waitForReadModels({
      queryUrl,
      tags: stored,
      cookies: Array.from({ length: 8 }, (_, i) => `cookie-${i * 5}`),
    });
    t.diagnostic(`${stored.length} tags; ${checked.queries} aggregate queries and ${checked.profiles} profiles equal the oracle`);
  });

  it('finishes in-flight requests on SIGTERM and exits 0', async () => {
    const inFlight = Array.from({ length: 200 }, (_, i) => postTag(base, sampleTag(50_000 + i)).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 5));
    api.signal('SIGTERM');
    const results = await Promise.all(inFlight.map((p) => p.catch(() => 0)));
    assert.equal(await api.waitForExit(), 0);
    // Each request either completed (204, stored) or was refused before it was read; none was cut off after 204.
    const acknowledged = results.map((s, i) => [s, i] as const).filter(([s]) => s === 204);
    const stored = new Set((await readTopic(TOPIC, broker.brokers)).map((r) => codec.decode(r.value).time));
    for (const [, i] of acknowledged) assert.ok(stored.has(sampleTag(50_000 + i).time));
    assert.ok(acknowledged.length > 0, 'requests already in flight were answered 204');
  });
});
