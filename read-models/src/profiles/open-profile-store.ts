import type { ProfileStore } from './profile-store.ts';
import {
  type FollowingProfileStore,
  fileCatalog,
  followLive,
  type ProfileVersioning,
  removeSqliteFiles,
  versionPath,
} from './profile-versions.ts';
import { createSqliteProfileStore } from './sqlite-profile-store.ts';
import { traceProfileStore } from './traced-profile-store.ts';

export interface ProfileStoreChoice {
  /** When set, profiles live in this Aerospike cluster; otherwise in the embedded store at `path`. */
  readonly aerospikeHosts?: string | undefined;
  readonly aerospikeNamespace: string;
  readonly aerospikeSet: string;
  readonly path: string;
}

/**
 * The one place that picks the profile store's adapter, and its versions
 * (`projector replay profiles`). The Aerospike client (a native module) is
 * loaded only when it is used. Stores are traced when tracing is on.
 */
export async function openProfileVersioning(choice: ProfileStoreChoice): Promise<ProfileVersioning> {
  if (choice.aerospikeHosts === undefined || choice.aerospikeHosts === '') {
    return {
      catalog: fileCatalog(choice.path),
      open: async (version) => traceProfileStore(createSqliteProfileStore(versionPath(choice.path, version)), 'sqlite'),
      drop: async (version) => removeSqliteFiles(versionPath(choice.path, version)),
    };
  }
  const { createAerospikeProfileVersioning } = await import('./aerospike-profile-store.ts');
  const versioning = createAerospikeProfileVersioning({
    hosts: choice.aerospikeHosts,
    namespace: choice.aerospikeNamespace,
    set: choice.aerospikeSet,
  });
  return { ...versioning, open: async (version) => traceProfileStore(await versioning.open(version), 'aerospike') };
}

/** The live profile store, following replays as they switch versions. */
export async function openProfileStore(choice: ProfileStoreChoice): Promise<FollowingProfileStore> {
  return followLive(await openProfileVersioning(choice));
}

export type { ProfileStore };
