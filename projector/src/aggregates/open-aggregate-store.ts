import type { AggregateStore } from './aggregate-store.ts';
import { createPostgresAggregateStore } from './postgres-aggregate-store.ts';
import { createSqliteAggregateStore } from './sqlite-aggregate-store.ts';
import { traceAggregateStore } from './traced-aggregate-store.ts';

/**
 * The aggregate store a `DATABASE_URL` names: `postgres://…` (or
 * `postgresql://…`) for PostgreSQL, `sqlite:<path>` for the embedded store
 * in a local file. The projector (writer) and the query API (reader) open it
 * the same way, traced when tracing is on.
 */
export function openAggregateStore(url: string, options: { poolSize?: number } = {}): AggregateStore {
  if (url.startsWith('sqlite:')) return traceAggregateStore(createSqliteAggregateStore(url.slice('sqlite:'.length)), 'sqlite');
  return traceAggregateStore(createPostgresAggregateStore({ connectionString: url, ...options }), 'postgresql');
}
