import type { ProfileStore } from './profile-store.ts';
import { createSqliteProfileStore } from './sqlite-profile-store.ts';

export interface ProfileStoreChoice {
  /** When set, profiles live in this Aerospike cluster; otherwise in the embedded store at `path`. */
  readonly aerospikeHosts?: string | undefined;
  readonly aerospikeNamespace: string;
  readonly aerospikeSet: string;
  readonly path: string;
}

/**
 * The one place that picks the profile store's adapter. The Aerospike client
 * (a native module) is loaded only when it is used.
 */
export async function openProfileStore(choice: ProfileStoreChoice): Promise<ProfileStore> {
  if (choice.aerospikeHosts === undefined || choice.aerospikeHosts === '') return createSqliteProfileStore(choice.path);
  const { createAerospikeProfileStore } = await import('./aerospike-profile-store.ts');
  return createAerospikeProfileStore({ hosts: choice.aerospikeHosts, namespace: choice.aerospikeNamespace, set: choice.aerospikeSet });
}
