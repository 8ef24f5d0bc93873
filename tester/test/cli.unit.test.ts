import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const cli = new URL('../src/cli.ts', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('the tester command line', () => {
  it('prints its usage with --help', () => {
    const r = run('--help');
    assert.equal(r.status, 0);
    for (const flag of [
      '--command-url',
      '--query-url',
      '--rate',
      '--duration',
      '--seed',
      '--cookies',
      '--out',
      '--max-in-flight',
      '--start-time',
    ])
      assert.ok(r.stdout.includes(flag), flag);
  });

  it('refuses an unknown flag or a bad value with exit code 2, naming it', () => {
    const unknown = run('--bogus');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /bogus/);
    const bad = run('--rate', 'fast');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--rate must be a number/);
    const time = run('--start-time', '2022-03-01 00:00');
    assert.equal(time.status, 2);
    assert.match(time.stderr, /startTime: must be an ISO-8601 UTC instant/);
  });

  it('runs and reports even when nothing answers', () => {
    const r = run(
      '--command-url',
      'http://127.0.0.1:9',
      '--query-url',
      'http://127.0.0.1:9',
      '--rate',
      '50',
      '--duration',
      '0.5',
      '--no-progress',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\| POST \/user_tags \| 25 \| 25 \|/);
    assert.match(r.stdout, /conn\. errors/);
  });
});
