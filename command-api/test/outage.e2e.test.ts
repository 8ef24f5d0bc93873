import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventCodec, ProblemBody } from '@usertags/contracts';
import { createTopic, PrivateBroker, ProgramProcess, postTag, readTopic, sampleTag, testPort } from '@usertags/testkit';

const codec = createEventCodec();
const TOPIC = 'user-tags';

/** Sends tags one after another for `ms`, recording each tag's status. */
async function sendFor(base: string, ms: number, first: number, results: Map<number, number>): Promise<number> {
  const end = Date.now() + ms;
  let n = first;
  while (Date.now() < end) {
    const batch = Array.from({ length: 10 }, (_, i) => n + i);
    n += batch.length;
    await Promise.all(
      batch.map(async (i) => {
        const res = await postTag(base, sampleTag(i)).catch(() => undefined);
        results.set(i, res?.status ?? 0);
        if (res !== undefined && res.status === 503) {
          assert.equal(res.headers.get('retry-after'), '1');
          assert.equal(ProblemBody.parse(await res.json()).code.length > 0, true);
        } else await res?.text();
      }),
    );
  }
  return n;
}

describe('the command API when its Kafka broker goes away and comes back', () => {
  const broker = new PrivateBroker(testPort(1));
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
    await api.kill();
    await broker.destroy();
  });

  it('answers 503 with Retry-After, and is not ready, while the broker has never been up', async () => {
    const res = await postTag(base, sampleTag(1));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(ProblemBody.parse(await res.json()).code, 'LOG_UNAVAILABLE');
    assert.equal((await fetch(`${base}/ready`)).status, 503);
  });

  const statuses = new Map<number, number>();

  it('stores tags once the broker is up, answers 503 (never 204) while it is stopped, and recovers by itself', async () => {
    await broker.start();
    // The API could not create the topic at start (the broker was down); stack:up creates it, and so does the test.
    await createTopic(TOPIC, 4, broker.brokers);

    // Up: everything is acknowledged (after at most a few seconds of reconnecting).
    const deadline = Date.now() + 20_000;
    let n = 100;
    while (Date.now() < deadline && (await postTag(base, sampleTag(n++))).status !== 204) {
      await new Promise((r) => setTimeout(r, 200));
    }
    n = await sendFor(base, 2000, 1000, statuses);
    const upStatuses = [...statuses.values()];
    assert.ok(upStatuses.length > 20);
    assert.deepEqual([...new Set(upStatuses)], [204], 'all 204 while the broker is up');

    // Down: from the moment the broker is gone, no request may get 204.
    await broker.stop();
    const down = new Map<number, number>();
    n = await sendFor(base, 3000, n, down);
    assert.ok(down.size > 5);
    assert.deepEqual([...new Set(down.values())], [503], 'all 503 while the broker is down');
    for (const [k, v] of down) statuses.set(k, v);

    // Back: ingest resumes without restarting the API.
    await broker.start();
    const back = Date.now() + 30_000;
    let resumed = false;
    while (Date.now() < back && !resumed) {
      const status = (await postTag(base, sampleTag(n))).status;
      statuses.set(n++, status);
      resumed = status === 204;
      if (!resumed) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(resumed, 'ingest resumed after the broker came back');
    await sendFor(base, 1000, n, statuses);
  });

  it('has every acknowledged tag in the log, exactly once', async () => {
    const acknowledged = [...statuses].filter(([, s]) => s === 204).map(([i]) => sampleTag(i).time);
    const stored = (await readTopic(TOPIC, broker.brokers)).map((r) => codec.decode(r.value).time);
    const storedSet = new Set(stored);
    for (const time of acknowledged) assert.ok(storedSet.has(time), `acknowledged tag ${time} is stored`);
    assert.equal(stored.length, storedSet.size, 'no tag is stored twice');
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
