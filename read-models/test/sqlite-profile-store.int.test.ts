import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import { PROFILE_KEEP, type ProfileEntry } from '../src/profiles/profile-store.ts';
import { createSqliteProfileStore, TRIM_SLACK } from '../src/profiles/sqlite-profile-store.ts';
import { describeProfileStoreContract } from './profile-store.contract.ts';

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

it('embedded SQLite: trims a pair only once it holds TRIM_SLACK tags more than it shows, then back to PROFILE_KEEP', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'profiles-'));
  const path = join(dir, 'profiles.sqlite');
  const store = createSqliteProfileStore(path);
  const rows = () => {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM profile_tags').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const tag = (i: number): ProfileEntry => {
    const digest = Buffer.alloc(12);
    digest.writeUInt32BE(i, 8);
    return { cookie: 'k', action: 'BUY', timeMs: 1_000_000 + i, digest, payload: Buffer.from(String(i)) };
  };
  const text = (payload: Uint8Array) => Buffer.from(payload).toString();
  try {
    const full = PROFILE_KEEP + TRIM_SLACK;
    await store.apply(Array.from({ length: full - 1 }, (_, i) => tag(i)));
    assert.equal(rows(), full - 1, 'below the slack nothing is deleted');
    const shown = await store.read('k', 'BUY', 0, 2_000_000, 1000);
    assert.equal(shown.length, PROFILE_KEEP);
    assert.equal(text(shown.at(-1) as Uint8Array), String(full - 1 - PROFILE_KEEP), 'only the newest PROFILE_KEEP are read');
    assert.deepEqual(await store.read('k', 'BUY', 0, 1_000_000 + full - 1 - PROFILE_KEEP, 1000), [], 'not even in a range of their own');
    await store.apply([tag(full - 1)]);
    assert.equal(rows(), PROFILE_KEEP, 'at the slack the pair is trimmed back to what reads see');
    assert.deepEqual(
      (await store.read('k', 'BUY', 0, 2_000_000, 1000)).map(text),
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
