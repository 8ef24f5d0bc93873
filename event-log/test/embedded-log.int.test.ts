import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedLog } from '../src/embedded/embedded-log.ts';

// Appends of one 6 KB record each: every commit adds a few pages to the WAL, ~36 MB for all of
// them if nothing ever copied the WAL back into the database file.
const APPENDS = 3000;
const value = Buffer.alloc(6000, 7);
const walBytes = (path: string) => statSync(`${path}-wal`).size;

function fill(path: string, deferCheckpoints: boolean, afterEach: (log: ReturnType<typeof openEmbeddedLog>) => void = () => {}) {
  const log = openEmbeddedLog(path, { deferCheckpoints });
  log.ensureTopic('t', 4);
  for (let i = 0; i < APPENDS; i++) {
    log.append('t', [{ key: `cookie-${i}`, value, headers: {} }]);
    afterEach(log);
  }
  return log;
}

describe('the embedded log checkpoints its own writes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-log-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the WAL bounded by copying it into the file as it goes, and loses nothing', () => {
    const path = join(dir, 'bounded.sqlite');
    const log = fill(path, false);
    assert.ok(walBytes(path) < 12_000_000, `WAL ${walBytes(path)} bytes`);
    const reader = openEmbeddedLog(path);
    const total = [...reader.ends('t').values()].reduce((a, b) => a + b, 0n);
    assert.equal(total, BigInt(APPENDS));
    const first = reader.read('t', 0, 0n, 1)[0];
    assert.deepEqual(first?.value, value);
    reader.close();
    log.close();
  });

  it('with deferred checkpoints, takes them only when asked to', () => {
    const unasked = join(dir, 'unasked.sqlite');
    const a = fill(unasked, true);
    assert.ok(walBytes(unasked) > 30_000_000, `WAL ${walBytes(unasked)} bytes: a checkpoint nobody asked for`);
    a.close();
    const asked = join(dir, 'asked.sqlite');
    const b = fill(asked, true, (log) => log.checkpointIfDue());
    assert.ok(walBytes(asked) < 12_000_000, `WAL ${walBytes(asked)} bytes`);
    b.close();
  });

  it('a reader that commits positions does not checkpoint the writer’s WAL for it', () => {
    const path = join(dir, 'positions.sqlite');
    const writer = openEmbeddedLog(path, { deferCheckpoints: true });
    writer.ensureTopic('t', 1);
    const reader = openEmbeddedLog(path);
    for (let i = 0; i < 1500; i++) {
      writer.append('t', [{ key: 'k', value, headers: {} }]);
      reader.commit('g', 't', [{ partition: 0, nextOffset: BigInt(i + 1) }]);
    }
    assert.ok(walBytes(path) > 15_000_000, `WAL ${walBytes(path)} bytes: someone checkpointed`);
    writer.checkpointIfDue();
    assert.deepEqual(reader.positions('g', 't'), new Map([[0, 1500n]]));
    reader.close();
    writer.close();
  });
});
