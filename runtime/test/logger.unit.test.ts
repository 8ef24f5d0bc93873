import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, limitRepeats } from '../src/logger.ts';

describe('a warning that repeats', () => {
  it('is written once per interval and key, with how many were left out since the last line', () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('test', 'debug', (line) => lines.push(JSON.parse(line)));
    let clock = 0;
    const warn = limitRepeats(logger, 1000, () => clock);
    for (let i = 0; i < 500; i++) {
      clock = i; // 500 in the first half second
      warn('LOG_UNAVAILABLE', 'tag not stored', { code: 'LOG_UNAVAILABLE' });
    }
    warn('OVERLOADED', 'tag not stored', { code: 'OVERLOADED' });
    clock = 1000;
    warn('LOG_UNAVAILABLE', 'tag not stored', { code: 'LOG_UNAVAILABLE' });
    warn('LOG_UNAVAILABLE', 'tag not stored', { code: 'LOG_UNAVAILABLE' });
    clock = 5000;
    warn('LOG_UNAVAILABLE', 'tag not stored', { code: 'LOG_UNAVAILABLE' });
    assert.deepEqual(
      lines.map(({ msg, code, repeated, level }) => ({ msg, code, repeated, level })),
      [
        { msg: 'tag not stored', code: 'LOG_UNAVAILABLE', repeated: undefined, level: 'warn' },
        { msg: 'tag not stored', code: 'OVERLOADED', repeated: undefined, level: 'warn' },
        { msg: 'tag not stored', code: 'LOG_UNAVAILABLE', repeated: 499, level: 'warn' },
        { msg: 'tag not stored', code: 'LOG_UNAVAILABLE', repeated: 1, level: 'warn' },
      ],
    );
  });
});
