import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestDatabase } from '@usertags/testkit';
import pg from 'pg';

describe('the local PostgreSQL started by stack:up', () => {
  it('gives each test a fresh, empty database of its own that it can write to and drop', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    assert.notEqual(a.name, b.name);
    const client = new pg.Client({ connectionString: a.url });
    await client.connect();
    try {
      const tables = await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
      assert.equal(tables.rows[0].n, 0);
      await client.query('CREATE TABLE probe (n bigint)');
      await client.query('INSERT INTO probe VALUES (9223372036854775807)');
      const { rows } = await client.query('SELECT n::text FROM probe');
      assert.equal(rows[0].n, '9223372036854775807');
    } finally {
      await client.end();
    }
    await Promise.all([a.drop(), b.drop()]);
    const admin = new pg.Client({ connectionString: a.url.replace(a.name, 'usertags') });
    await admin.connect();
    const left = await admin.query('SELECT count(*)::int AS n FROM pg_database WHERE datname = ANY($1)', [[a.name, b.name]]);
    await admin.end();
    assert.equal(left.rows[0].n, 0);
  });
});
