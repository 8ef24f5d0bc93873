import { inChildSpan, tracingActive } from '@usertags/runtime';
import type { ProfileStore } from './profile-store.ts';

/**
 * The profile store with a span around each write and read: neither SQLite
 * (node:sqlite) nor the Aerospike client has an OpenTelemetry
 * instrumentation, so these are the store's spans in a batch's or a query's
 * trace. Calls outside any trace get no span. Returns `store` itself when tracing is off.
 */
export function traceProfileStore(store: ProfileStore, system: 'aerospike' | 'sqlite'): ProfileStore {
  if (!tracingActive()) return store;
  const db = { 'db.system.name': system };
  return {
    migrate: () => store.migrate(),
    apply: (entries, position) =>
      inChildSpan('profiles.apply', { attributes: { ...db, 'usertags.entries': entries.length } }, () => store.apply(entries, position)),
    positions: (topic) => store.positions(topic),
    read: (cookie, fromMs, toMs, limit) =>
      inChildSpan('profiles.read', { attributes: { ...db, 'usertags.limit': limit } }, () => store.read(cookie, fromMs, toMs, limit)),
    checkReady: () => store.checkReady(),
    close: () => store.close(),
  };
}
