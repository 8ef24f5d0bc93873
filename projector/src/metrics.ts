import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ProjectorMetrics {
  readonly registry: Registry;
  readonly eventsApplied: Counter<'projection'>;
  readonly flushDuration: Histogram<'projection'>;
  readonly batchEvents: Histogram<'projection'>;
  readonly batchRows: Histogram<'projection'>;
  readonly deadLettered: Counter<'projection'>;
  readonly lateEvents: Counter<'projection'>;
  readonly storeRetries: Counter<'projection'>;
  readonly lag: Gauge<'projection' | 'partition'>;
  readonly logMismatch: Gauge<'projection'>;
}

export function createProjectorMetrics(): ProjectorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    eventsApplied: new Counter({
      name: 'projector_events_applied_total',
      help: 'Events applied to a read model',
      labelNames: ['projection'],
      registers,
    }),
    flushDuration: new Histogram({
      name: 'projector_flush_duration_seconds',
      help: 'Time to write one batch of increments and offsets',
      labelNames: ['projection'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchEvents: new Histogram({
      name: 'projector_batch_events',
      help: 'Events per written batch',
      labelNames: ['projection'],
      buckets: [1, 10, 100, 1000, 5000, 10_000, 20_000, 50_000, 100_000],
      registers,
    }),
    batchRows: new Histogram({
      name: 'projector_batch_rows',
      help: 'Read-model rows written per batch',
      labelNames: ['projection'],
      buckets: [1, 10, 100, 1000, 10_000, 50_000, 100_000, 200_000],
      registers,
    }),
    deadLettered: new Counter({
      name: 'projector_dead_lettered_total',
      help: 'Records parked as undecodable',
      labelNames: ['projection'],
      registers,
    }),
    lateEvents: new Counter({
      name: 'projector_late_events_total',
      help: 'Events older than the retention horizon, not counted',
      labelNames: ['projection'],
      registers,
    }),
    storeRetries: new Counter({
      name: 'projector_store_retries_total',
      help: 'Failed store writes that were retried',
      labelNames: ['projection'],
      registers,
    }),
    lag: new Gauge({
      name: 'projector_consumer_lag',
      help: 'Records in the log not yet applied, per partition',
      labelNames: ['projection', 'partition'],
      registers,
    }),
    logMismatch: new Gauge({
      name: 'projector_log_mismatch',
      help: '1 while the read model was built from another log than the one found (or is past its end) and the projection refuses to run',
      labelNames: ['projection'],
      registers,
    }),
  };
}
