#!/usr/bin/env node
// Composition root of the query API: config → read-model readers → app → listen; with WORKERS > 1, a
// primary that forks that many workers, each of which does the same.
import type { AddressInfo } from 'node:net';
import { openAggregateStore, openProfileStore } from '@usertags/read-models';
import {
  createHttpServer,
  createLogger,
  isWorkerPrimary,
  loadConfigOrExit,
  onShutdownSignal,
  superviseWorkers,
  warnIfTelemetryMissing,
} from '@usertags/runtime';
import { loadConfig } from './config.ts';
import { createQueryApp } from './http/app.ts';
import { createMetrics } from './metrics.ts';

const config = loadConfigOrExit('query-api', loadConfig);
const logger = createLogger('query-api', config.LOG_LEVEL);
warnIfTelemetryMissing(logger, 'query-api', config.OTEL_TRACES_EXPORTER);
if (isWorkerPrimary(config.WORKERS)) superviseWorkers(config.WORKERS, logger);
else await serve();

async function serve(): Promise<void> {
  const aggregates = openAggregateStore(config.aggregates.url, { poolSize: 8 });
  const profiles = await openProfileStore(config.profiles);
  await profiles.migrate();
  const app = createQueryApp({
    aggregates,
    profiles,
    // Ready while either read model answers: the other one's endpoint answers 503 STORE_UNAVAILABLE by itself,
    // and a load balancer that checks /ready keeps sending this replica the queries it can serve (the
    // store-down drill: with both required, PostgreSQL's outage took every profile query down too).
    checkReady: async () => {
      const checks = await Promise.allSettled([aggregates.checkReady(), profiles.checkReady()]);
      if (checks.some((c) => c.status === 'fulfilled')) return;
      throw (checks[0] as PromiseRejectedResult).reason;
    },
    metrics: createMetrics(),
    logger,
    maxMinutes: config.AGGREGATES_MAX_MINUTES,
    debugBodyLimitBytes: config.DEBUG_BODY_LIMIT_BYTES,
  });
  const server = createHttpServer(app, {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    logger,
  });
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  logger.info('listening', { url: `http://${config.HOST}:${(server.address() as AddressInfo).port}` });

  onShutdownSignal(logger, async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    await Promise.all([aggregates.close(), profiles.close()]);
  });
}
