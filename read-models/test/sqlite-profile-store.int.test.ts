import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import { type Action, createEventCodec, type UserTag } from '@usertags/contracts';
import { PROFILE_KEEP, type ProfileEntry } from '../src/profiles/profile-store.ts';
import { createSqliteProfileStore, TRIM_SLACK } from '../src/profiles/sqlite-profile-store.ts';
import { describeProfileStoreContract, digestOf, entryOfTag, oldTag, readAction } from './profile-store.contract.ts';

describeProfileStoreContract('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  let current = createSqliteProfileStore(path);
  return {
    store: current,
    async reopen() {
      current = createSqliteProfileStore(path);
      await current.migrate();
      return current;
    },
    async cleanup() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** The rows the file holds (of one cookie, when given), counted through a connection of its own. */
function rowsIn(path: string, cookie?: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const count =
      cookie === undefined
        ? db.prepare('SELECT count(*) AS n FROM profile_tags').get()
        : db.prepare('SELECT count(*) AS n FROM profile_tags WHERE cookie = ?').get(cookie);
    return (count as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The i-th tag of one cookie and action: its digest made of i, its text `json`. */
function pairEntry(cookie: string, action: Action, timeMs: number, i: number, json: string): ProfileEntry {
  const digest = Buffer.alloc(12);
  digest.writeUInt32BE(i, 8);
  return { cookie, action, timeMs, digest, json, payload: Buffer.from(String(i)) };
}

it('embedded SQLite: a pair fed a tag at a time, again after a restart and with tags delivered twice, never holds PROFILE_KEEP + TRIM_SLACK tags after a batch', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  const held = () => rowsIn(path, 'one');
  const tag = (i: number) => pairEntry('one', 'VIEW', 5_000_000 + i, i, JSON.stringify(i));
  let store = createSqliteProfileStore(path);
  try {
    const counts: number[] = [];
    for (let i = 0; i < 700; i++) {
      // Every seventh batch delivers the previous tag again with the new one; a restart (no memory of the pairs) at 450.
      await store.apply(i % 7 === 0 && i > 0 ? [tag(i - 1), tag(i)] : [tag(i)]);
      if (i === 450) {
        await store.close();
        store = createSqliteProfileStore(path);
      }
      counts.push(held());
    }
    assert.ok(
      Math.max(...counts) < PROFILE_KEEP + TRIM_SLACK,
      `at most ${PROFILE_KEEP + TRIM_SLACK - 1} after a batch: ${Math.max(...counts)}`,
    );
    assert.ok(counts.filter((n, i) => i > 0 && n < (counts[i - 1] as number)).length >= 40, 'trimmed every TRIM_SLACK tags or so');
    const newest = await readAction(store, 'one', 'VIEW', 0, 10_000_000, 1000);
    assert.deepEqual(
      newest.map((t) => JSON.parse(t) as number),
      Array.from({ length: PROFILE_KEEP }, (_, k) => 699 - k),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('embedded SQLite: trims a pair only once it holds TRIM_SLACK tags more than it shows, then back to PROFILE_KEEP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  const store = createSqliteProfileStore(path);
  const rows = () => rowsIn(path);
  const tag = (i: number) => pairEntry('k', 'BUY', 1_000_000 + i, i, JSON.stringify(String(i)));
  const text = (json: string) => JSON.parse(json) as string;
  try {
    const full = PROFILE_KEEP + TRIM_SLACK;
    await store.apply(Array.from({ length: full - 1 }, (_, i) => tag(i)));
    assert.equal(rows(), full - 1, 'below the slack nothing is deleted');
    const shown = await readAction(store, 'k', 'BUY', 0, 2_000_000, 1000);
    assert.equal(shown.length, PROFILE_KEEP);
    assert.equal(text(shown.at(-1) as string), String(full - 1 - PROFILE_KEEP), 'only the newest PROFILE_KEEP are read');
    assert.deepEqual(
      await readAction(store, 'k', 'BUY', 0, 1_000_000 + full - 1 - PROFILE_KEEP, 1000),
      [],
      'not even in a range of their own',
    );
    await store.apply([tag(full - 1)]);
    assert.equal(rows(), PROFILE_KEEP, 'at the slack the pair is trimmed back to what reads see');
    assert.deepEqual(
      (await readAction(store, 'k', 'BUY', 0, 2_000_000, 1000)).map(text),
      shown
        .map(text)
        .slice(0, PROFILE_KEEP - 1)
        .toSpliced(0, 0, String(full - 1)),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A store file as builds before the JSON text made it: each tag's Avro payload, no `json` column. */
function writeOldFile(path: string, tags: readonly UserTag[], codec = createEventCodec()): void {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL;
    CREATE TABLE profile_tags (cookie TEXT NOT NULL, action INTEGER NOT NULL, time_ms INTEGER NOT NULL, digest BLOB NOT NULL,
      payload BLOB NOT NULL, PRIMARY KEY (cookie, action, time_ms, digest)) WITHOUT ROWID;
    CREATE TABLE profile_positions (topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
      PRIMARY KEY (topic, partition)) WITHOUT ROWID`);
  const insert = db.prepare('INSERT INTO profile_tags (cookie, action, time_ms, digest, payload) VALUES (?, ?, ?, ?, ?)');
  for (const [i, t] of tags.entries()) insert.run(t.cookie, t.action === 'VIEW' ? 0 : 1, Date.parse(t.time), digestOf(i), codec.encode(t));
  db.close();
}

it('embedded SQLite: reads a file made before the JSON text, and writes it so that those builds still read it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  const codec = createEventCodec();
  writeOldFile(
    path,
    [0, 1, 2].map((i) => oldTag(i, 'VIEW')),
  );
  // Two stores (as the projector and the query API) open it: the column is added once, neither fails.
  const [a, b] = [createSqliteProfileStore(path), createSqliteProfileStore(path)];
  try {
    await Promise.all([a.migrate(), b.migrate()]);
    await a.apply([3, 4].map((i) => entryOfTag(oldTag(i, 'VIEW'), i, codec)));
    const expected = [4, 3, 2, 1, 0].map((i) => entryOfTag(oldTag(i, 'VIEW'), i, codec).json);
    for (const store of [a, b]) {
      assert.deepEqual(
        await readAction(store, 'old', 'VIEW', 0, Date.UTC(2023, 0, 1), 200),
        expected,
        'old rows decoded, new rows as stored',
      );
      assert.deepEqual(await readAction(store, 'old', 'VIEW', 0, Date.UTC(2023, 0, 1), 2), expected.slice(0, 2));
    }
    // What a build from before reads: every row's payload, the new ones too.
    const db = new DatabaseSync(path, { readOnly: true });
    const payloads = db.prepare("SELECT payload FROM profile_tags WHERE cookie = 'old' ORDER BY time_ms DESC").all() as Array<{
      payload: Uint8Array;
    }>;
    db.close();
    assert.deepEqual(
      payloads.map((r) => JSON.stringify(codec.decode(r.payload))),
      expected,
    );
  } finally {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('embedded SQLite: a program that finds the old layout while another is adding the column waits, and does not add it twice', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  const codec = createEventCodec();
  writeOldFile(path, [oldTag(0, 'VIEW')]);
  // Another program has added the column and holds the write lock for a while before it commits.
  const other = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { DatabaseSync } from 'node:sqlite';
       const db = new DatabaseSync(${JSON.stringify(path)});
       db.exec('BEGIN IMMEDIATE');
       db.exec('ALTER TABLE profile_tags ADD COLUMN json TEXT');
       console.log('added, not committed');
       setTimeout(() => { db.exec('COMMIT'); db.close(); }, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => other.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    other.stdout.once('data', () => resolve());
    other.once('exit', (code) => reject(new Error(`the other program exited (${code}) before it held the lock`)));
  });
  const store = createSqliteProfileStore(path);
  try {
    await store.migrate(); // sees no column, waits for the lock, then finds the other's column
    await store.apply([entryOfTag(oldTag(1, 'VIEW'), 1, codec)]);
    assert.deepEqual(
      await readAction(store, 'old', 'VIEW', 0, Date.UTC(2023, 0, 1), 200),
      [1, 0].map((i) => entryOfTag(oldTag(i, 'VIEW'), i, codec).json),
    );
    assert.equal(await exited, 0);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('embedded SQLite: a new file holds each tag once, as its JSON text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  const store = createSqliteProfileStore(path);
  try {
    await store.apply([{ cookie: 'n', action: 'BUY', timeMs: 5, digest: digestOf(0), json: '{"n":1}', payload: Buffer.from('avro') }]);
    const db = new DatabaseSync(path, { readOnly: true });
    const columns = (db.prepare('PRAGMA table_info(profile_tags)').all() as Array<{ name: string }>).map((c) => c.name);
    db.close();
    assert.deepEqual(columns, ['cookie', 'action', 'time_ms', 'digest', 'json']);
    assert.deepEqual(await readAction(store, 'n', 'BUY', 0, 10, 200), ['{"n":1}']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
