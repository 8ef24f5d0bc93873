// The read models as the projections see them, without the adapters: the row shapes and the store ports.
// Pure code (projector/src/core/) imports from here, never from the package root, which loads the adapters.
export {
  type AggregateIncrement,
  type AggregateKey,
  ALL_THREE,
  BRAND,
  CATEGORY,
  GROUPINGS,
  groupingOf,
  ORIGIN,
} from './aggregates/aggregate-rows.ts';
export {
  type AggregateStore,
  type BucketQuery,
  type BucketTotals,
  OffsetConflict,
  type PartitionProgress,
  type PreparedIncrements,
} from './aggregates/aggregate-store.ts';
export { PROFILE_KEEP, type ProfileEntry, type ProfileStore, type StorePosition } from './profiles/profile-store.ts';
export type { FollowingProfileStore, ProfileLive } from './profiles/profile-versions.ts';
