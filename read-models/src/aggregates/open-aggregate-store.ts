import type { AggregateStore } from './aggregate-store.ts';
import { createPostgresAggregateStore, createPostgresAggregateVersions } from './postgres-aggregate-store.ts';
import type { AggregateVersions, VersionChoice } from './sql-aggregate-store.ts';
import { createSqliteAggregateStore, createSqliteAggregateVersions } from './sqlite-aggregate-store.ts';
import { traceAggregateStore } from './traced-aggregate-store.ts';

/**
 * The aggregate store a `DATABASE_URL` names: `postgres://…` (or
 * `postgresql://…`) for PostgreSQL, `sqlite:<path>` for the embedded store
 * in a local file. The projector (writer) and the query API (reader) open it
 * the same way, traced when tracing is on.
 */
export function openAggregateStore(url: string, options: { poolSize?: number; version?: VersionChoice } = {}): AggregateStore {
  const { version = 'live', ...pool } = options;
  if (url.startsWith('sqlite:')) return traceAggregateStore(createSqliteAggregateStore(url.slice('sqlite:'.length), version), 'sqlite');
  return traceAggregateStore(createPostgresAggregateStore({ connectionString: url, ...pool }, version), 'postgresql');
}

/** The versions of the aggregate read model at `url`, for `projector replay`. */
export function openAggregateVersions(url: string): AggregateVersions {
  if (url.startsWith('sqlite:')) return createSqliteAggregateVersions(url.slice('sqlite:'.length));
  return createPostgresAggregateVersions({ connectionString: url });
}
