import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createHttpTarget } from '../src/http/client.ts';
import { type Clock, InFlightLimit, realClock, runOpenLoop, slotsDue } from '../src/index.ts';

/** A clock whose time moves only when the scheduler sleeps; `stall` makes every sleep last longer than asked (a busy event loop). */
function fakeClock(stall = 0): Clock & { sleeps: number } {
  let now = 0;
  const clock = {
    sleeps: 0,
    now: () => now,
    sleep: async (ms: number) => {
      clock.sleeps++;
      now += ms + stall;
    },
  };
  return clock;
}

describe('the open-loop scheduler', () => {
  it('counts slot k as due k / rate seconds after the start', () => {
    assert.equal(slotsDue(1000, 0, 10), 1);
    assert.equal(slotsDue(1000, 0.999, 10), 1);
    assert.equal(slotsDue(1000, 1, 10), 2);
    assert.equal(slotsDue(200, 1000, 1000), 201);
    assert.equal(slotsDue(200, 10_000, 1000), 1000);
    assert.equal(slotsDue(200, -1, 1000), 0);
  });

  it('issues every slot at its time on a clock that keeps up', async () => {
    const clock = fakeClock();
    const late: number[] = [];
    const n = await runOpenLoop({ rate: 1000, durationMs: 1000, clock, onSlot: (_, dueAt) => late.push(clock.now() - dueAt) });
    assert.equal(n, 1000);
    assert.equal(late.length, 1000);
    assert.ok(Math.max(...late) < 1, `at most one tick late, was ${Math.max(...late)} ms`);
  });

  it('catches up in bursts when the loop stalls, so the rate does not drop', async () => {
    const clock = fakeClock(49); // every 1 ms sleep lasts 50 ms
    const issuedAt: number[] = [];
    const n = await runOpenLoop({ rate: 1000, durationMs: 1000, clock, onSlot: () => issuedAt.push(clock.now()) });
    assert.equal(n, 1000);
    // At every wake-up, everything due so far has been issued.
    for (const t of [0, 50, 100, 500, 950]) assert.equal(issuedAt.filter((x) => x <= t).length, Math.min(1000, t + 1));
  });

  it('stops early when aborted', async () => {
    const stop = new AbortController();
    const clock = fakeClock();
    const n = await runOpenLoop({
      rate: 1000,
      durationMs: 1000,
      clock,
      signal: stop.signal,
      onSlot: (k) => {
        if (k === 99) stop.abort();
      },
    });
    assert.ok(n >= 100 && n < 110, `stopped after ${n}`);
  });

  it('drops instead of waiting when the in-flight bound is reached by answers that never come', async () => {
    const clock = fakeClock();
    const limit = new InFlightLimit(100);
    let sent = 0;
    let dropped = 0;
    await runOpenLoop({
      rate: 1000,
      durationMs: 1000,
      clock,
      onSlot: () => {
        if (limit.tryAcquire()) sent++;
        else dropped++;
      },
    });
    assert.deepEqual({ sent, dropped }, { sent: 100, dropped: 900 });
  });
});

describe('the open-loop scheduler against a server that answers slowly', () => {
  async function slowServer(delayMs: number): Promise<{ url: string; close(): Promise<void>; maxConcurrent(): number }> {
    let concurrent = 0;
    let max = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      concurrent++;
      max = Math.max(max, concurrent);
      setTimeout(() => {
        concurrent--;
        res.statusCode = 204;
        res.end();
      }, delayMs);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      maxConcurrent: () => max,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  }

  async function drive(url: string, maxInFlight: number) {
    const target = createHttpTarget(url);
    const limit = new InFlightLimit(maxInFlight);
    const issuedAt: number[] = [];
    const latencies: number[] = [];
    let dropped = 0;
    const start = realClock.now();
    await runOpenLoop({
      rate: 200,
      durationMs: 1000,
      clock: realClock,
      onSlot: () => {
        issuedAt.push(realClock.now() - start);
        if (!limit.tryAcquire()) {
          dropped++;
          return;
        }
        void target.request('POST', '/user_tags', '{}', 2000, false).then((o) => {
          limit.release();
          latencies.push(o.latencyMs);
        });
      },
    });
    await limit.idle();
    target.close();
    return { issuedAt, latencies, dropped };
  }

  it('keeps sending at the target rate while every answer takes 300 ms', async () => {
    const server = await slowServer(300);
    try {
      const r = await drive(server.url, 1000);
      assert.equal(r.issuedAt.length, 200);
      assert.equal(r.dropped, 0);
      // Half the slots in the first half second, though no answer had come back by then.
      const firstHalf = r.issuedAt.filter((t) => t < 500).length;
      assert.ok(firstHalf >= 95 && firstHalf <= 105, `issued ${firstHalf} in the first 500 ms`);
      assert.ok(Math.min(...r.latencies) >= 290, 'every answer was slow');
      // 200/s with 300 ms answers is about 60 requests at once: none waited for another.
      assert.ok(server.maxConcurrent() >= 50, `the server saw ${server.maxConcurrent()} at once`);
    } finally {
      await server.close();
    }
  });

  it('counts what passes the in-flight bound as dropped, and still issues every slot on time', async () => {
    const server = await slowServer(300);
    try {
      const r = await drive(server.url, 20);
      assert.equal(r.issuedAt.length, 200);
      const sent = r.latencies.length;
      assert.equal(sent + r.dropped, 200);
      // 20 in flight for 300 ms each: about 20 per 300 ms get through, the rest are dropped.
      assert.ok(sent >= 40 && sent <= 100, `sent ${sent}`);
      assert.ok(server.maxConcurrent() <= 20);
      const firstHalf = r.issuedAt.filter((t) => t < 500).length;
      assert.ok(firstHalf >= 95 && firstHalf <= 105, `issued ${firstHalf} in the first 500 ms`);
    } finally {
      await server.close();
    }
  });
});
