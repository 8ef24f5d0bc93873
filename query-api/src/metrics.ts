import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export interface QueryApiMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'route' | 'method' | 'status'>;
  readonly debugComparisons: Counter<'endpoint' | 'result'>;
}

export function createMetrics(): QueryApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 10, 60],
      registers: [registry],
    }),
    debugComparisons: new Counter({
      name: 'debug_comparisons_total',
      help: 'Debug-mode comparisons of our answer with the expected one, by endpoint and result (match or mismatch)',
      labelNames: ['endpoint', 'result'] as const,
      registers: [registry],
    }),
  };
  // Both results of both endpoints exist from the start at 0, so `increase()` sees the first mismatch.
  for (const endpoint of ['user_profiles', 'aggregates']) {
    for (const result of ['match', 'mismatch']) metrics.debugComparisons.inc({ endpoint, result }, 0);
  }
  return metrics;
}
