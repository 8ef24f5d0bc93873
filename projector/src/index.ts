// What other packages use from the projector: the read-model modules the query API reads through.
export type { AggregateStore, BucketQuery, BucketTotals } from './aggregates/aggregate-store.ts';
export { openAggregateStore } from './aggregates/open-aggregate-store.ts';
export { createPostgresAggregateStore, type PostgresAggregateStoreConfig } from './aggregates/postgres-aggregate-store.ts';
export { AggregateBatch } from './aggregates/projection.ts';
export { openProfileStore, type ProfileStoreChoice } from './profiles/open-profile-store.ts';
export { PROFILE_KEEP, type ProfileStore } from './profiles/profile-store.ts';
