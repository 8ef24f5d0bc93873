import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogDescription } from '@usertags/contracts';
import { judgeBinding } from '../src/core/log-binding.ts';

const log = (identity: string, ...ends: Array<[start: bigint, end: bigint]>): LogDescription => ({
  identity,
  partitions: new Map(ends.map(([start, end], partition) => [partition, { start, end }])),
});

describe('judging a read model against the log it finds', () => {
  it('binds a read model that has no identity yet when its positions lie within the log', () => {
    assert.deepEqual(judgeBinding(undefined, log('kafka:c/t1', [0n, 10n]), new Map([[0, 10n]])), { kind: 'bind' });
    assert.deepEqual(judgeBinding(undefined, log('kafka:c/t1', [0n, 0n]), new Map()), { kind: 'bind' });
  });

  it('follows the log it is bound to, from an older position too (a store restored from a backup)', () => {
    assert.deepEqual(judgeBinding('kafka:c/t1', log('kafka:c/t1', [0n, 500n], [0n, 9n]), new Map([[0, 120n]])), { kind: 'ok' });
  });

  it('refuses another log, naming both identities', () => {
    const verdict = judgeBinding('kafka:c/t1', log('kafka:c/t2', [0n, 5n]), new Map([[0, 3n]]));
    assert.equal(verdict.kind, 'refuse');
    assert.match(verdict.kind === 'refuse' ? verdict.reason : '', /built from log kafka:c\/t1, but the log found is kafka:c\/t2/);
  });

  it('refuses positions past the end of a partition, bound or not (a recreated topic, a log restored from an older backup)', () => {
    for (const bound of [undefined, 'embedded:x']) {
      const verdict = judgeBinding(
        bound,
        log('embedded:x', [0n, 100n], [0n, 40n]),
        new Map([
          [0, 100n],
          [1, 41n],
        ]),
      );
      assert.equal(verdict.kind, 'refuse');
      assert.match(verdict.kind === 'refuse' ? verdict.reason : '', /partition 1 up to offset 41, past the end of log embedded:x \(40\)/);
    }
  });

  it('refuses positions before what the log still holds, and partitions it does not have', () => {
    const deleted = judgeBinding('k', log('k', [50n, 80n]), new Map([[0, 20n]]));
    assert.match(deleted.kind === 'refuse' ? deleted.reason : '', /offsets 20–49 were deleted before the read model applied them/);
    const missing = judgeBinding('k', log('k', [0n, 80n]), new Map([[3, 7n]]));
    assert.match(missing.kind === 'refuse' ? missing.reason : '', /position 7 on partition 3, which log k does not have/);
  });
});
