import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  assertAcknowledgedStored,
  createTestDatabase,
  createTopic,
  deleteTopic,
  ProgramProcess,
  startReadSide,
  TagDriver,
  TEST_BROKERS,
  type TestDatabase,
  tagsInLog,
  testPort,
  uniqueName,
  waitFor,
  waitForReadModels,
} from '@usertags/testkit';

const KILLS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the command API killed with SIGKILL while tags flow, and started again', () => {
  const topic = uniqueName('api-crash');
  const dir = mkdtempSync(join(tmpdir(), 'api-crash-'));
  let database: TestDatabase;
  let common: Record<string, string>;
  let api: ProgramProcess;
  const others: ProgramProcess[] = [];
  let apiUrl: string;
  let queryUrl: string;

  const startApi = () => {
    api = new ProgramProcess('command-api', { ...common, PORT: String(testPort(51)) });
    return api.ready();
  };

  before(async () => {
    database = await createTestDatabase('api_crash');
    await createTopic(topic, 4);
    common = {
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      KAFKA_TOPIC: topic,
      DATABASE_URL: database.url,
      PROFILE_STORE_PATH: join(dir, 'profiles.sqlite'),
    };
    others.push(...startReadSide(common, topic));
    [apiUrl, , queryUrl] = (await Promise.all([startApi(), ...others.map((p) => p.ready())])) as [string, string, string];
  });

  after(async () => {
    await Promise.all([api, ...others].map((p) => p.kill()));
    await deleteTopic(topic);
    await deleteTopic(`${topic}.dead-letter`);
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every tag it answered 204 through ${KILLS} SIGKILLs: all in the log once, and both read models equal the oracle`, async (t) => {
    const driver = new TagDriver(apiUrl, { senders: 6, pauseMs: 2 });
    driver.start();
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(2500);
      api.signal('SIGKILL');
      await api.waitForExit();
      await sleep(500);
      const restartedAt = Date.now();
      await startApi();
      // The restarted API takes tags again by itself (it connects to Kafka lazily).
      await waitFor(
        () => driver.sent.some((s) => s.startedAt > restartedAt && s.status === 204),
        20_000,
        () => 'the restarted API answers 204 again',
      );
    }
    await sleep(2000);
    await driver.stop();

    const counts = driver.counts();
    t.diagnostic(`statuses ${JSON.stringify(counts)}`);
    assert.deepEqual(
      Object.keys(counts).filter((s) => !['0', '204', '503'].includes(s)),
      [],
      'only 204, 503 or no answer while the API dies and comes back',
    );
    assert.ok((counts[0] ?? 0) > 0, 'some requests were cut off or refused while the API was down');

    const stored = await tagsInLog(topic);
    const { unacknowledgedStored } = assertAcknowledgedStored(driver.acknowledged(), stored);
    assert.equal(new Set(stored.map((s) => s.time)).size, stored.length, 'no tag is in the log twice');
    t.diagnostic(
      `${driver.acknowledged().length} acknowledged, ${stored.length} in the log (${unacknowledgedStored} of them cut off before their answer)`,
    );

    const checked = await waitForReadModels({
      queryUrl,
      tags: stored,
      cookies: Array.from({ length: 10 }, (_, i) => `cookie-${i * 4}`),
    });
    t.diagnostic(`read models equal the oracle: ${checked.queries} aggregate queries, ${checked.profiles} profiles`);
  });
});
