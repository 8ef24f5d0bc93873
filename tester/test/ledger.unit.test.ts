import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ledger, TagState, tagRecord, type WorkloadShape } from '../src/index.ts';

const shape: WorkloadShape = { seed: 1, startMs: Date.parse('2022-03-01T00:00:00.000Z'), cookies: 3, cookieSkew: 0 };

function filled(n: number): Ledger {
  const ledger = new Ledger(shape);
  for (let i = 0; i < n; i++) ledger.record(tagRecord(shape, i));
  return ledger;
}

describe('the ledger', () => {
  it('walks a cookie’s tags of one action newest first', () => {
    const ledger = filled(1000);
    for (const cookie of [1, 2, 3])
      for (const action of [0, 1] as const) {
        const walked = [...ledger.history(cookie, action, 0)].map((e) => e.timeMs - shape.startMs);
        const expected = Array.from({ length: 1000 }, (_, i) => i)
          .filter((i) => tagRecord(shape, i).cookie === cookie && tagRecord(shape, i).action === action)
          .reverse();
        assert.deepEqual(walked, expected);
      }
    assert.deepEqual([...ledger.history(4, 0, 0)], [], 'a cookie beyond the stream has no tags');
  });

  it('knows a tag as visible only once it was accepted before the freshness bound', () => {
    const ledger = filled(10);
    ledger.settle(0, TagState.accepted, 100);
    ledger.settle(1, TagState.absent, 100);
    ledger.settle(2, TagState.uncertain, 100);
    assert.equal(ledger.knowledge(0, 99), 'unknown');
    assert.equal(ledger.knowledge(0, 100), 'visible');
    assert.equal(ledger.knowledge(1, 1000), 'absent');
    assert.equal(ledger.knowledge(2, 1000), 'unknown');
    assert.equal(ledger.knowledge(3, 1000), 'unknown', 'still pending');
    assert.throws(() => ledger.knowledge(10, 0), RangeError);
  });

  it('tracks how many tags from the first have all been answered', () => {
    const ledger = filled(5);
    assert.equal(ledger.settledPrefix, 0);
    ledger.settle(1, TagState.accepted, 1);
    ledger.settle(2, TagState.absent, 1);
    assert.equal(ledger.settledPrefix, 0, 'tag 0 is still pending');
    ledger.settle(0, TagState.uncertain, 2);
    assert.equal(ledger.settledPrefix, 3);
    ledger.settle(4, TagState.accepted, 3);
    ledger.settle(3, TagState.accepted, 3);
    assert.equal(ledger.settledPrefix, 5);
  });

  it('rebuilds a listed tag from the seed', () => {
    const ledger = filled(10);
    const [newest] = ledger.history(tagRecord(shape, 9).cookie, tagRecord(shape, 9).action, 0);
    assert.equal(newest?.tag().time, '2022-03-01T00:00:00.009Z');
  });

  it('frees answer times and aggregate columns of whole chunks no question can reach', () => {
    const n = 3 * 65_536;
    const ledger = filled(n);
    for (let i = 0; i < n; i++) ledger.settle(i, TagState.accepted, i < 65_536 ? 10 : 5000);
    ledger.release(100, 65_536);
    // The first chunk's accepted tags count as visible to any later query; its columns are gone.
    assert.equal(ledger.knowledge(5, -1), 'visible');
    assert.equal(ledger.knowledge(70_000, 100), 'unknown');
    const sum = (from: number, to: number) =>
      [...ledger.table(1e9).columns(shape.startMs + from, shape.startMs + to)].reduce((s, c) => s + c.length, 0);
    assert.equal(sum(65_536, 70_000), 4464);
    assert.throws(() => sum(0, 10), /older than the aggregates window/);
  });
});
