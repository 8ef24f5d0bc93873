import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, sparedConnection } from '../src/waiting.ts';

/** Connections that open when the test says so, numbered in the order they were asked for. */
function opener() {
  const pending: { n: number; open: (ok: boolean) => void }[] = [];
  let asked = 0;
  const open = () =>
    new Promise<number>((resolve, reject) => {
      const n = ++asked;
      pending.push({ n, open: (ok) => (ok ? resolve(n) : reject(new Error(`connection ${n} failed`))) });
    });
  return { open, pending, asked: () => asked };
}

describe('a connection kept with a spare', () => {
  it('opens a spare beside the first connection, and hands it out at once when the first is forgotten', async () => {
    const o = opener();
    const c = sparedConnection(o.open);
    const first = c.get();
    assert.equal(o.asked(), 2, 'the connection in use and a spare are both being made');
    for (const p of o.pending.splice(0)) p.open(true);
    assert.equal(await first, 1);
    assert.equal(await c.get(), 1, 'the same connection while it is not forgotten');
    assert.equal(o.asked(), 2);
    c.forget();
    assert.equal(await c.get(), 2, 'the spare, already open, is taken');
    assert.equal(o.asked(), 3, 'and another spare is being made');
    const all = c.release();
    for (const p of o.pending.splice(0)) p.open(true);
    assert.deepEqual((await Promise.all(all)).sort(), [2, 3], 'release hands back the one in use and the spare');
    c.forget();
    await sleep(5);
    assert.equal(o.asked(), 3, 'no spare is made after release');
  });

  it('makes a failed spare again, and a failed connection in use is forgotten', async () => {
    const o = opener();
    const c = sparedConnection(o.open);
    const first = c.get().catch((error: unknown) => error);
    o.pending.shift()?.open(false);
    assert.match(String(await first), /connection 1 failed/);
    o.pending.shift()?.open(false); // the spare fails too
    await sleep(150); // the first backoff is 100 ms
    assert.equal(o.asked(), 3, 'a new spare is being made after the backoff');
    o.pending.shift()?.open(true);
    assert.equal(await c.get(), 3, 'the failed connection was forgotten and the new spare taken');
    c.release();
    for (const p of o.pending.splice(0)) p.open(true);
  });
});

describe('a connection kept with two spares', () => {
  it('takes a spare that is open before one still being made', async () => {
    const o = opener();
    const c = sparedConnection(o.open, 2);
    const first = c.get();
    assert.equal(o.asked(), 3, 'the connection in use and two spares are being made');
    o.pending[0]?.open(true);
    o.pending[2]?.open(true); // the second spare opens; the first is still being made
    assert.equal(await first, 1);
    c.forget();
    assert.equal(await c.get(), 3, 'the open spare is taken, not the one still being made');
    assert.equal(o.asked(), 4, 'and one more spare is being made');
    c.forget();
    const next = c.get();
    o.pending[1]?.open(true);
    assert.equal(await next, 2, 'with none open, the spare asked for first is taken');
    c.release();
    for (const p of o.pending.slice(3)) p.open(true);
  });
});
