import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

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
