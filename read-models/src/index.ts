// The read models, each with one owner module for its storage layout: the projector writes through
// these stores, the query API reads through them.

// Aggregates: minute rows per grouping, in PostgreSQL or the embedded SQLite file.
export { openAggregateStore, openAggregateVersions } from './aggregates/open-aggregate-store.ts';
export {
  createPostgresAggregateStore,
  createPostgresAggregateVersions,
  type PostgresAggregateStoreConfig,
} from './aggregates/postgres-aggregate-store.ts';
export { type AggregateVersions, LIVE_VERSION_CACHE_MS, type VersionChoice } from './aggregates/sql-aggregate-store.ts';
export { createSqliteAggregateStore, createSqliteAggregateVersions } from './aggregates/sqlite-aggregate-store.ts';
export * from './ports.ts';

// Profiles: per cookie the newest tags of each action, in Aerospike or the embedded SQLite file.
export { createAerospikeProfileStore } from './profiles/aerospike-profile-store.ts';
export { openProfileStore, openProfileVersioning, type ProfileStoreChoice } from './profiles/open-profile-store.ts';
export { PROFILE_VERSION_CACHE_MS, type ProfileVersioning } from './profiles/profile-versions.ts';
export { createSqliteProfileStore, TRIM_SLACK } from './profiles/sqlite-profile-store.ts';
