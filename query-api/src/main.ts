#!/usr/bin/env node
// Composition root of the query API: config → read-model readers → app → listen.
import type { AddressInfo } from 'node:net';
import { openAggregateStore, openProfileStore } from '@usertags/read-models';
import { createHttpServer, createLogger, loadConfigOrExit, onShutdownSignal, warnIfTelemetryMissing } from '@usertags/runtime';
import { loadConfig } from './config.ts';
import { createQueryApp } from './http/app.ts';
import { createMetrics } from './metrics.ts';

const config = loadConfigOrExit('query-api', loadConfig);
const logger = createLogger('query-api', config.LOG_LEVEL);
warnIfTelemetryMissing(logger, 'query-api', config.OTEL_TRACES_EXPORTER);
const aggregates = openAggregateStore(config.aggregates.url, { poolSize: 8 });
const profiles = await openProfileStore(config.profiles);
await profiles.migrate();
const app = createQueryApp({
  aggregates,
  profiles,
  checkReady: async () => {
    await Promise.all([aggregates.checkReady(), profiles.checkReady()]);
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
