import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';

/** Runs a program that installs the shutdown handler with `stop`, sends it SIGTERM once it is ready, and returns its exit code and log. */
async function terminate(stop: string, deadline: string): Promise<{ code: number | null; log: string }> {
  const program = `
    import { createLogger, onShutdownSignal } from '@usertags/runtime';
    const logger = createLogger('shutdown-test', 'info');
    onShutdownSignal(logger, ${stop}, ${deadline});
    setInterval(() => {}, 1000);
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '--eval', program], {
    cwd: import.meta.dirname,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (log.includes('ready\n') && child.exitCode === null) child.kill('SIGTERM');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, log };
}

describe('the shutdown handler', () => {
  it('exits 0 once stop has finished', async () => {
    const { code, log } = await terminate('async () => {}', '{ deadlineMs: 5000 }');
    assert.equal(code, 0, log);
    assert.match(log, /shutting down/);
  });

  it('gives up a stop that hangs once its deadline has passed, and exits 1 saying so', async () => {
    const started = Date.now();
    const { code, log } = await terminate('() => new Promise(() => {})', '{ deadlineMs: 300 }');
    assert.equal(code, 1, log);
    assert.match(log, /shutdown did not finish in time; exiting/);
    assert.ok(Date.now() - started < 20_000, 'it did not wait for the stop');
  });
});
