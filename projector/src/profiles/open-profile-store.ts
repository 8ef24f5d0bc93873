import type { ProfileStore } from './profile-store.ts';
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
 * The one place that picks the profile store's adapter. The Aerospike client
 * (a native module) is loaded only when it is used. Traced when tracing is on.
 */
export async function openProfileStore(choice: ProfileStoreChoice): Promise<ProfileStore> {
  if (choice.aerospikeHosts === undefined || choice.aerospikeHosts === '')
    return traceProfileStore(createSqliteProfileStore(choice.path), 'sqlite');
  const { createAerospikeProfileStore } = await import('./aerospike-profile-store.ts');
  const store = createAerospikeProfileStore({
    hosts: choice.aerospikeHosts,
    namespace: choice.aerospikeNamespace,
    set: choice.aerospikeSet,
  });
  return traceProfileStore(store, 'aerospike');
}
