import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** The database the test stack creates (infra/postgres/pg.sh). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://usertags:usertags@127.0.0.1:5432/usertags';

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

/** Runs statements one after the other on the stack's database server, as its owner. */
async function asAdmin(...statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database of its own for one test file; `drop()` removes it. */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await asAdmin(`CREATE DATABASE "${name}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => dropDatabase(name) };
}

/**
 * Copies database `from` into a new database `to` (PostgreSQL's CREATE DATABASE … TEMPLATE), replacing any
 * database named `to`: a backup taken or restored whole. Nothing may be connected to `from` meanwhile.
 */
export function copyDatabase(from: string, to: string): Promise<void> {
  return asAdmin(`DROP DATABASE IF EXISTS "${to}" WITH (FORCE)`, `CREATE DATABASE "${to}" TEMPLATE "${from}"`);
}

/** Drops database `name` if it exists, whoever is connected. */
export function dropDatabase(name: string): Promise<void> {
  return asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
