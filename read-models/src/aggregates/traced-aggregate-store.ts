import { inChildSpan, tracingActive } from '@usertags/runtime';
import type { AggregateStore } from './aggregate-store.ts';

/**
 * The aggregate store with a span around each read and write, so a batch's
 * or a query's trace reaches the store whichever adapter it is. Below it,
 * the pg instrumentation adds a span per statement for PostgreSQL; the
 * embedded SQLite store has no instrumentation of its own. Calls outside
 * any trace (start-up) get no span. Returns `store`
 * itself when tracing is off.
 */
export function traceAggregateStore(store: AggregateStore, system: 'postgresql' | 'sqlite'): AggregateStore {
  if (!tracingActive()) return store;
  const db = { 'db.system.name': system };
  return {
    migrate: () => store.migrate(),
    loadOffsets: (topic) => store.loadOffsets(topic),
    loadWatermarks: (topic) => store.loadWatermarks(topic),
    logBinding: (topic) => store.logBinding(topic),
    bindLog: (topic, identity) => store.bindLog(topic, identity),
    prepare: (increments) => store.prepare(increments),
    apply: (topic, increments, progress, newestEventMs) =>
      inChildSpan(
        'aggregates.apply',
        {
          attributes: {
            ...db,
            'usertags.rows': 'prepared' in increments ? increments.rows : increments.length,
            'usertags.partitions': progress.length,
          },
        },
        () => store.apply(topic, increments, progress, newestEventMs),
      ),
    readBuckets: (query) =>
      inChildSpan('aggregates.read', { attributes: { ...db, 'usertags.minutes': Math.ceil((query.toMs - query.fromMs) / 60_000) } }, () =>
        store.readBuckets(query),
      ),
    readWatermarks: () => inChildSpan('aggregates.read_watermarks', { attributes: db }, () => store.readWatermarks()),
    dropBefore: (horizonMs) => inChildSpan('aggregates.drop_before', { attributes: db }, () => store.dropBefore(horizonMs)),
    checkReady: () => store.checkReady(),
    close: () => store.close(),
  };
}
