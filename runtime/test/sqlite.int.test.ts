import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { CHECKPOINT_BACKSTOP_PAGES, checkpointInBackground, openDurableSqlite } from '../src/sqlite.ts';

const sqliteModule = resolve(import.meta.dirname, '../src/sqlite.ts');

// One program opening a SQLite file the way the stores do, at a given instant.
const opener = `
import { DatabaseSync } from 'node:sqlite';
import { useWal } from ${JSON.stringify(sqliteModule)};
const [path, at] = process.argv.slice(-2);
while (Date.now() < Number(at)) {}
try {
  const db = new DatabaseSync(path, { timeout: 5000 });
  useWal(db);
  db.exec('CREATE TABLE IF NOT EXISTS t (a INTEGER PRIMARY KEY)');
  console.log('ok');
} catch (error) {
  console.log('failed: ' + error.message);
}`;

describe('opening one new SQLite file from several programs at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-wal-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('puts it in WAL mode from all of them, where a bare PRAGMA sometimes fails with "database is locked"', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 10; round++) {
      const path = join(dir, `race-${round}.sqlite`);
      const at = String(Date.now() + 250);
      outcomes.push(
        ...(await Promise.all(
          [0, 1, 2].map(
            () =>
              new Promise<string>((done) => {
                const child = spawn(process.execPath, ['--input-type=module', '-e', opener, path, at]);
                let out = '';
                child.stdout.on('data', (d: Buffer) => {
                  out += d.toString();
                });
                child.on('exit', () => done(out.trim()));
              }),
          ),
        )),
      );
    }
    assert.deepEqual([...new Set(outcomes)], ['ok']);
  });
});

describe('checkpoints in the background', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-checkpoint-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keep the WAL small while one connection writes, without that connection checkpointing', async () => {
    const path = join(dir, 'busy.sqlite');
    const db = openDurableSqlite(path);
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const checkpoints = checkpointInBackground(db, path, 20);
    const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
    const value = Buffer.alloc(1024, 7);
    let largestWal = 0;
    for (let batch = 0; batch < 40; batch++) {
      db.exec('BEGIN');
      for (let i = 0; i < 1000; i++) insert.run(batch * 1000 + i, value);
      db.exec('COMMIT');
      largestWal = Math.max(largestWal, statSync(`${path}-wal`).size);
      await new Promise((r) => setTimeout(r, 30));
    }
    // 40 MB went through the WAL; on its own the writer would checkpoint only at CHECKPOINT_BACKSTOP_PAGES (80 MB).
    assert.ok(CHECKPOINT_BACKSTOP_PAGES * 4096 > 40 * 1024 * 1024);
    assert.ok(largestWal < 16 * 1024 * 1024, `the WAL grew to ${(largestWal / 1048576).toFixed(1)} MB`);
    await checkpoints.stop();
    db.close();
    const reader = new DatabaseSync(path, { readOnly: true });
    assert.equal(reader.prepare('SELECT count(*) AS n FROM t').get()?.n, 40_000);
    reader.close();
  });
});
