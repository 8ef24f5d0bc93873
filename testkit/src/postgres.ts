import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** The database the test stack creates (infra/postgres/pg.sh). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://usertags:usertags@127.0.0.1:5432/usertags';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of its own for one test file; `drop()` removes it. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Copies database `from` into a new database `to` (PostgreSQL's CREATE DATABASE … TEMPLATE), replacing any
 * database named `to`: a backup taken or restored whole. Nothing may be connected to `from` meanwhile.
 */
export async function copyDatabase(from: string, to: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${to}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${to}" TEMPLATE "${from}"`);
  } finally {
    await client.end();
  }
}

/** Drops database `name` if it exists, whoever is connected. */
export async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
