import { ERROR_CODES } from '@usertags/contracts';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric the command API exports, in one registry served at /metrics. */
export interface CommandApiMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'route' | 'method' | 'status'>;
  readonly appendDuration: Histogram<'outcome'>;
  readonly batchSize: Histogram;
  readonly tagsAppended: Counter;
  readonly tagsRejected: Counter<'reason'>;
  readonly inFlight: Gauge;
}

export function createMetrics(pending: () => number): CommandApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics: CommandApiMetrics = {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5],
      registers: [registry],
    }),
    appendDuration: new Histogram({
      name: 'event_log_append_duration_seconds',
      help: 'Time for the event log to acknowledge one batch append',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'event_log_append_batch_size',
      help: 'Tags per append to the event log',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    tagsAppended: new Counter({
      name: 'user_tags_appended_total',
      help: 'Tags durably appended to the event log (answered 204)',
      registers: [registry],
    }),
    tagsRejected: new Counter({
      name: 'user_tags_rejected_total',
      help: 'Tags not stored, by reason (the error code)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'user_tags_in_flight',
      help: 'Tags accepted for append and not yet acknowledged or rejected',
      // With several workers (WORKERS > 1) each holds its own tags: the instance holds their sum.
      aggregator: 'sum',
      registers: [registry],
      collect() {
        this.set(pending());
      },
    }),
  };
  // Every series an alert or a panel reads exists from the start at 0: `increase()` and `rate()` see the
  // first failure as a change from 0, not as a series that appeared already at 1.
  metrics.appendDuration.zero({ outcome: 'ok' });
  metrics.appendDuration.zero({ outcome: 'error' });
  for (const code of Object.keys(ERROR_CODES)) metrics.tagsRejected.inc({ reason: code }, 0);
  return metrics;
}
