import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventSource, LogDescription } from '@usertags/contracts';
import { createLogger } from '@usertags/runtime';
import { createLogGuard, PAST_END_CONFIRMATIONS } from '../src/core/log-guard.ts';

const logger = createLogger('test', 'error');
const log = (end: bigint): LogDescription => ({ identity: 'kafka:c/t', partitions: new Map([[0, { start: 0n, end }]]) });

/** A source whose describe() answers the given logs in turn (the last one from then on), and what was done to it. */
function sourceAnswering(...answers: LogDescription[]) {
  const events: string[] = [];
  let asked = 0;
  const source = {
    describe: async () => answers[Math.min(asked++, answers.length - 1)],
    pause: () => events.push('pause'),
    resume: () => events.push('resume'),
  } as unknown as EventSource;
  return { source, events, asked: () => asked };
}

function guardOver(source: EventSource, refusing: boolean[]) {
  const model = { binding: async () => 'kafka:c/t', bind: async () => 'kafka:c/t', positions: async () => new Map([[0, 100n]]) };
  return createLogGuard('aggregates', 'user-tags', source, model, { onRefusing: (r) => refusing.push(r) }, logger, 1);
}

describe('the log guard and a partition end that may be stale', () => {
  it('does not refuse when the end is past the positions again on a second look (a resumed leader answered first)', async () => {
    const { source, events } = sourceAnswering(log(90n), log(150n));
    const refusing: boolean[] = [];
    const guard = guardOver(source, refusing);
    assert.equal(await guard.check(), 'following');
    assert.deepEqual(refusing, [], 'no refusal was reported');
    assert.deepEqual(events, ['pause', 'resume'], 'nothing was applied while it looked again');
    assert.doesNotThrow(() => guard.throwIfRefusing());
  });

  it('refuses once every look says the positions are past the end (a log restored from an older copy)', async () => {
    const { source, asked } = sourceAnswering(log(90n));
    const refusing: boolean[] = [];
    const guard = guardOver(source, refusing);
    assert.equal(await guard.check(), 'refusing');
    assert.equal(asked(), 1 + PAST_END_CONFIRMATIONS);
    assert.deepEqual(refusing, [true]);
    assert.throws(() => guard.throwIfRefusing(), /past the end/);
  });
});
