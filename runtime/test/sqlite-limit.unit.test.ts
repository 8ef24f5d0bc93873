import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { statementsPerLimit } from '../src/sqlite.ts';

describe('statements per LIMIT', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (k TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (k, n)) WITHOUT ROWID');
  for (let n = 0; n < 50; n++) db.prepare('INSERT INTO t VALUES (?, ?)').run('a', n);
  // SQLite consults the authorizer while it compiles a statement, and only then.
  let compiles = 0;
  db.setAuthorizer(() => {
    compiles++;
    return 0;
  });
  const newest = statementsPerLimit(
    db,
    (limit) => `SELECT n FROM t WHERE k = ? ORDER BY n DESC LIMIT ${limit}`,
    (st) => st.setReturnArrays(true),
  );

  it('answers each limit with that many rows, set up as asked', () => {
    assert.deepEqual(newest(3).all('a'), [[49], [48], [47]]);
    assert.deepEqual(newest(1).all('a'), [[49]]);
    assert.deepEqual(newest(0).all('a'), []);
    assert.equal(newest(200).all('a').length, 50);
  });

  it('compiles a statement once per limit, not at every run', () => {
    newest(7).all('a');
    newest(8).all('a');
    const before = compiles;
    for (let i = 0; i < 20; i++) {
      assert.equal(newest(7).all('a').length, 7);
      assert.equal(newest(8).all('b').length, 0);
    }
    assert.equal(compiles, before, 'runs of prepared statements compile nothing');
    assert.equal(newest(7), newest(7), 'the same statement for the same limit');
  });

  it('refuses a limit that is not a non-negative integer, which would otherwise be written into SQL', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => newest(bad), RangeError);
  });
});
