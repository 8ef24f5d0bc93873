export type { AggregateStore, BucketQuery, BucketTotals } from './aggregates/aggregate-store.ts';
export { createPostgresAggregateStore, type PostgresAggregateStoreConfig } from './aggregates/postgres-aggregate-store.ts';
export { AggregateBatch, groupingOf } from './aggregates/projection.ts';
export { openProfileStore, type ProfileStoreChoice } from './profiles/open-profile-store.ts';
export { PROFILE_KEEP, type ProfileStore } from './profiles/profile-store.ts';
export { createSqliteProfileStore } from './profiles/sqlite-profile-store.ts';
