import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { throttlePositionCommits } from '../src/core/position-commits.ts';

type Commit = { topic: string; progress: Array<{ partition: number; nextOffset: bigint }> };

const noError = (error: unknown) => assert.fail(`unexpected commit failure: ${String(error)}`);

function recorder(fail: (call: number) => boolean = () => false) {
  const commits: Commit[] = [];
  const times: number[] = [];
  let calls = 0;
  return {
    commits,
    times,
    commit: async (topic: string, progress: Commit['progress']) => {
      calls++;
      if (fail(calls)) throw new Error(`commit ${calls} refused`);
      times.push(performance.now());
      commits.push({ topic, progress: [...progress].sort((a, b) => a.partition - b.partition) });
    },
  };
}

describe('position commits at most once per interval', () => {
  it('commits the first position at once, then the newest of each partition once the interval is up', async () => {
    const r = recorder();
    // A long interval and polling instead of fixed sleeps: a loaded machine may run timers late.
    const positions = throttlePositionCommits(r.commit, 500, noError);
    positions.note('t', 0, 10n);
    await until(() => r.commits.length === 1);
    assert.deepEqual(r.commits, [{ topic: 't', progress: [{ partition: 0, nextOffset: 10n }] }]);
    positions.note('t', 0, 20n);
    positions.note('t', 1, 5n);
    positions.note('t', 0, 30n);
    await until(() => r.commits.length === 2);
    // The second commit waited out the interval after the first. The margin is
    // for the scheduler: on a loaded machine the process can be descheduled
    // between the throttle taking its time and the recorder taking its own.
    const gap = (r.times[1] as number) - (r.times[0] as number);
    assert.ok(gap >= 450, `a second commit ${gap.toFixed(1)} ms after the first, inside the 500 ms interval`);
    assert.deepEqual(r.commits[1], {
      topic: 't',
      progress: [
        { partition: 0, nextOffset: 30n },
        { partition: 1, nextOffset: 5n },
      ],
    });
    await sleep(50);
    assert.equal(r.commits.length, 2);
    positions.close();
  });

  it('commits every note when the interval is 0', async () => {
    const r = recorder();
    const positions = throttlePositionCommits(r.commit, 0, noError);
    for (const offset of [1n, 2n, 3n]) positions.note('t', 0, offset);
    await positions.flush();
    assert.deepEqual(
      r.commits.map((c) => c.progress[0]?.nextOffset),
      [1n, 2n, 3n],
    );
  });

  it('flush commits what is pending without waiting for the interval', async () => {
    const r = recorder();
    const positions = throttlePositionCommits(r.commit, 60_000, noError);
    positions.note('t', 0, 1n);
    positions.note('t', 2, 7n);
    await positions.flush();
    assert.deepEqual(r.commits.at(-1), { topic: 't', progress: [{ partition: 2, nextOffset: 7n }] });
    assert.equal(r.commits.length, 2);
    positions.close();
  });

  it('retries a refused commit, without taking a partition back behind a newer position', async () => {
    const r = recorder((call) => call === 1);
    const errors: unknown[] = [];
    const positions = throttlePositionCommits(r.commit, 50, (error) => errors.push(error));
    positions.note('t', 0, 10n);
    positions.note('t', 1, 4n);
    await until(() => errors.length === 1);
    positions.note('t', 0, 12n);
    await until(() => r.commits.length === 1);
    assert.deepEqual(r.commits, [
      {
        topic: 't',
        progress: [
          { partition: 0, nextOffset: 12n },
          { partition: 1, nextOffset: 4n },
        ],
      },
    ]);
    positions.close();
  });

  it('forgets what was noted and not committed', async () => {
    const r = recorder();
    const positions = throttlePositionCommits(r.commit, 40, noError);
    positions.note('t', 0, 1n);
    positions.note('t', 0, 9n);
    positions.forget();
    await sleep(80);
    await positions.flush();
    positions.note('t', 0, 3n);
    await positions.flush();
    assert.deepEqual(
      r.commits.map((c) => c.progress[0]?.nextOffset),
      [1n, 3n],
    );
    positions.close();
  });

  it('commits nothing after close', async () => {
    const r = recorder();
    const positions = throttlePositionCommits(r.commit, 30, noError);
    positions.note('t', 0, 1n);
    positions.note('t', 0, 2n);
    positions.close();
    positions.note('t', 0, 3n);
    await sleep(80);
    assert.deepEqual(
      r.commits.map((c) => c.progress[0]?.nextOffset),
      [1n],
    );
  });
});

/** Waits until `done()` holds, looking every 5 ms, for at most 5 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail('not within 5 s');
    await sleep(5);
  }
}
