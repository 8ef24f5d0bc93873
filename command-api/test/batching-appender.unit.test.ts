import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AppendInDoubt, ContractError, type EventAppender, type LogRecord, PartlyAppended } from '@usertags/contracts';
import { createBatchingAppender } from '../src/core/batching-appender.ts';

/** An in-memory log whose appends complete when the test says so. */
function controlledLog() {
  const appends: Array<{ records: readonly LogRecord[]; settle: (error?: Error) => void }> = [];
  const log: EventAppender = {
    append: (records) =>
      new Promise<void>((resolve, reject) => {
        appends.push({ records, settle: (error) => (error ? reject(error) : resolve()) });
      }),
    checkReady: async () => {},
    close: async () => {},
  };
  return { log, appends };
}

const record = (key: string): LogRecord => ({ key, value: Buffer.from(key), headers: {} });
const tick = () => new Promise((r) => setImmediate(r));
const options = { lingerMs: 0, maxBatch: 100, maxPending: 1000, queueTimeoutMs: 1000 };

describe('the batching appender', () => {
  it('gathers the records that arrive during an append into the next one, in order', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, options);
    const first = appender.append(record('a'));
    await tick();
    assert.equal(appends.length, 1);
    const rest = ['b', 'c', 'd'].map((k) => appender.append(record(k)));
    await tick();
    assert.equal(appends.length, 1, 'nothing more is sent while an append is in flight');
    appends[0]?.settle();
    await first;
    await tick();
    assert.equal(appends.length, 2);
    assert.deepEqual(
      appends[1]?.records.map((r) => r.key),
      ['b', 'c', 'd'],
    );
    appends[1]?.settle();
    await Promise.all(rest);
  });

  it('resolves each caller only when its own record is durable', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, options);
    let done = false;
    const p = appender.append(record('a')).then(() => {
      done = true;
    });
    await tick();
    await tick();
    assert.equal(done, false);
    appends[0]?.settle();
    await p;
    assert.equal(done, true);
  });

  it('splits a large backlog into batches of at most maxBatch', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, { ...options, maxBatch: 3 });
    const all = Array.from({ length: 7 }, (_, i) => appender.append(record(String(i))));
    for (let i = 0; i < 3; i++) {
      await tick();
      appends[i]?.settle();
      await tick();
    }
    await Promise.all(all);
    assert.deepEqual(
      appends.map((a) => a.records.length),
      [3, 3, 1],
    );
  });

  it('rejects every record of a failed append with the log error', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, options);
    const p = appender.append(record('a'));
    await tick();
    appends[0]?.settle(new ContractError('LOG_UNAVAILABLE', 'down'));
    await assert.rejects(p, { code: 'LOG_UNAVAILABLE' });
  });

  it('answers the records a partly failed append stored as stored, and only the others with the error', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, options);
    const first = appender.append(record('a'));
    await tick();
    appends[0]?.settle();
    await first;
    const calls = ['b', 'c', 'd'].map((k) => appender.append(record(k)));
    await tick();
    appends[1]?.settle(new PartlyAppended([true, false, true], 'one broker did not answer'));
    const outcomes = await Promise.allSettled(calls);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'fulfilled' ? 'stored' : (o.reason as ContractError).code)),
      ['stored', 'LOG_UNAVAILABLE', 'stored'],
    );
  });

  it('holds the records of an append in doubt until the log tells their fate, while the next append goes ahead', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, options);
    const calls = ['a', 'b', 'c'].map((k) => appender.append(record(k)));
    const outcome = (p: Promise<void>) =>
      p.then(
        () => 'stored',
        (e: ContractError) => e.code,
      );
    const outcomes = calls.map(outcome);
    await tick();
    let verdict: (stored: readonly boolean[]) => void = () => {};
    const settled = new Promise<readonly boolean[]>((resolve) => {
      verdict = resolve;
    });
    appends[0]?.settle(new AppendInDoubt([true, false, false], settled, 'the leader did not answer'));
    assert.equal(await outcomes[0], 'stored', 'a record known stored is answered at once');
    let drained = false;
    void appender.drain().then(() => {
      drained = true;
    });
    const next = appender.append(record('d'));
    await tick();
    assert.equal(appends.length, 2, 'the next append does not wait for the verdict');
    appends[1]?.settle();
    await next;
    assert.equal(appender.pending(), 2, 'the records in doubt are still pending');
    await tick();
    assert.equal(drained, false, 'drain waits for the records in doubt');
    verdict([true, true, false]);
    assert.deepEqual(await Promise.all(outcomes), ['stored', 'stored', 'LOG_UNAVAILABLE']);
    await tick();
    assert.equal(drained, true);
    assert.equal(appender.pending(), 0);
  });

  it('rejects a record still queued when its time is up, and never sends it afterwards', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, { ...options, queueTimeoutMs: 30 });
    const inFlight = appender.append(record('a'));
    await tick();
    const queued = appender.append(record('late'));
    await assert.rejects(queued, { code: 'LOG_UNAVAILABLE' });
    appends[0]?.settle();
    await inFlight;
    await tick();
    assert.equal(appends.length, 1, 'the expired record was not appended');
    assert.equal(appender.pending(), 0);
  });

  it('answers OVERLOADED at once when maxPending records are waiting', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, { ...options, maxPending: 2 });
    const a = appender.append(record('a'));
    const b = appender.append(record('b'));
    await assert.rejects(appender.append(record('c')), { code: 'OVERLOADED', retryable: true });
    await tick();
    appends[0]?.settle();
    await Promise.all([a, b]);
  });

  it('drain waits for in-flight records', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, options);
    const p = appender.append(record('a'));
    let drained = false;
    const d = appender.drain().then(() => {
      drained = true;
    });
    await tick();
    assert.equal(drained, false);
    appends[0]?.settle();
    await Promise.all([p, d]);
    assert.equal(drained, true);
  });

  it('lets a batch linger while records keep joining it, up to lingerMs, also after an append completes', async () => {
    const { log, appends } = controlledLog();
    const lingerMs = 40;
    const appender = createBatchingAppender(log, { ...options, lingerMs, maxBatch: 1_000_000, maxPending: 1_000_000 });
    // A steady stream: one record per turn of the event loop, so every look of the linger sees the batch grow.
    let feeding = true;
    const fed: Array<Promise<void>> = [];
    const times: number[] = [];
    const feed = () => {
      if (!feeding) return;
      fed.push(appender.append(record(`r${fed.length}`)));
      times.push(performance.now());
      setImmediate(feed);
    };
    feed();
    while (appends.length === 0) await new Promise((r) => setTimeout(r, 1));
    const firstSentAfter = performance.now() - (times[0] as number);
    assert.ok(firstSentAfter >= lingerMs - 1, `the first batch left after ${firstSentAfter} ms, before its linger`);
    assert.ok((appends[0]?.records.length ?? 0) > 5, `it gathered ${appends[0]?.records.length} records`);
    // Records that join while that append is in flight linger too once it completes: the next batch
    // leaves when its own oldest record has lingered, not as soon as the append completes.
    await new Promise((r) => setTimeout(r, 5));
    appends[0]?.settle();
    while (appends.length === 1) await new Promise((r) => setTimeout(r, 1));
    const oldestOfSecond = times[appends[0]?.records.length ?? 0] as number;
    const secondLingered = performance.now() - oldestOfSecond;
    assert.ok(secondLingered >= lingerMs - 1, `the next batch left when its oldest record had waited ${secondLingered} ms`);
    feeding = false;
    appends[1]?.settle();
    while (appends.length < 3 && fed.length > appends.reduce((n, a) => n + a.records.length, 0)) {
      await new Promise((r) => setTimeout(r, 1));
      for (const a of appends.slice(2)) a.settle();
    }
    for (const a of appends) a.settle();
    await Promise.all(fed);
  });

  it('sends a batch that stops growing without waiting out the linger (clients that wait for their answers)', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, { ...options, lingerMs: 1000 });
    const started = performance.now();
    const batch = ['a', 'b', 'c'].map((k) => appender.append(record(k)));
    while (appends.length === 0) await new Promise((r) => setTimeout(r, 1));
    assert.ok(performance.now() - started < 500, 'a batch nobody joins leaves long before the 1 s linger');
    assert.deepEqual(
      appends[0]?.records.map((r) => r.key),
      ['a', 'b', 'c'],
    );
    appends[0]?.settle();
    await Promise.all(batch);
  });

  it('sends a batch at once when every client that could join it has (clients)', async () => {
    const { log, appends } = controlledLog();
    let clients = 3;
    const appender = createBatchingAppender(log, { ...options, lingerMs: 1000, clients: () => clients });
    const batch = ['a', 'b', 'c'].map((k) => appender.append(record(k)));
    await tick();
    await tick();
    assert.equal(appends.length, 1, 'three clients, three records: nobody is left to join');
    assert.deepEqual(
      appends[0]?.records.map((r) => r.key),
      ['a', 'b', 'c'],
    );
    // A fourth client is connected: two records of the four possible linger (a look in a millisecond at the earliest).
    clients = 4;
    appends[0]?.settle();
    await Promise.all(batch);
    const next = ['d', 'e'].map((k) => appender.append(record(k)));
    await tick();
    await tick();
    assert.equal(appends.length, 1, 'two of four clients in: the batch lingers');
    clients = 2; // two clients left: the next look finds everyone in
    while (appends.length === 1) await new Promise((r) => setTimeout(r, 1));
    appends[1]?.settle();
    await Promise.all(next);
  });

  it('sends a full batch at once', async () => {
    const { log, appends } = controlledLog();
    const appender = createBatchingAppender(log, { ...options, lingerMs: 1000, maxBatch: 3 });
    const full = ['d', 'e', 'f'].map((k) => appender.append(record(k)));
    await tick();
    await tick();
    assert.equal(appends.length, 1);
    appends[0]?.settle();
    await Promise.all(full);
  });
  it('keeps no record once its append is over', async () => {
    // An appender that went on referring to the records it had sent kept them alive until its queue was
    // compacted: in a busy API, megabytes a second outlived the young generation and were promoted.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const log: EventAppender = { append: async () => {}, checkReady: async () => {}, close: async () => {} };
    const appender = createBatchingAppender(log, { ...options, maxBatch: 4 });
    const sent: Array<WeakRef<LogRecord>> = [];
    const appends: Array<Promise<void>> = [];
    // Made in a function of their own, so that no variable of this test refers to the last one.
    const send = (i: number) => {
      const r = record(`k${i}`);
      sent.push(new WeakRef(r));
      return appender.append(r);
    };
    for (let i = 0; i < 40; i++) appends.push(send(i));
    await Promise.all(appends);
    await appender.drain();
    appends.length = 0;
    await tick();
    gc();
    assert.deepEqual(
      sent.map((ref, i) => (ref.deref() === undefined ? undefined : i)).filter((i) => i !== undefined),
      [],
      'records still referenced after their appends',
    );
  });
});
