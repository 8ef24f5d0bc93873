import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_WORKERS, resolveWorkers } from '../src/config.ts';

describe('the number of worker processes (WORKERS)', () => {
  it('is one per core by default, at most 64', () => {
    assert.equal(resolveWorkers(undefined, undefined, 2), 2);
    assert.equal(resolveWorkers(undefined, undefined, 1), 1);
    assert.equal(resolveWorkers(undefined, undefined, 256), MAX_WORKERS);
    assert.equal(MAX_WORKERS, 64);
  });

  it('is what WORKERS says, whatever the cores', () => {
    assert.equal(resolveWorkers(5, undefined, 2), 5);
    assert.equal(resolveWorkers(1, undefined, 32), 1);
  });

  it('is 1 beside an embedded store, and more is refused naming the store', () => {
    assert.equal(resolveWorkers(undefined, 'the event log (EVENT_LOG)', 16), 1);
    assert.equal(resolveWorkers(1, 'the event log (EVENT_LOG)', 16), 1);
    assert.throws(
      () => resolveWorkers(2, 'the event log (EVENT_LOG)', 16),
      (e: Error) => e.message.startsWith('invalid configuration:\n  WORKERS: ') && e.message.includes('the event log (EVENT_LOG)'),
    );
  });
});
