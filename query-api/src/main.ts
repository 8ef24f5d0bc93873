#!/usr/bin/env node
// Composition root of the query API: config → read-model readers → app → listen.
import type { AddressInfo } from 'node:net';
import { createPostgresAggregateStore } from '@usertags/projector';
import { createHttpServer, createLogger, errorFields } from '@usertags/runtime';
import { loadConfig, type QueryApiConfig } from './config.ts';
import { createQueryApp } from './http/app.ts';
import { createMetrics } from './metrics.ts';

let config: QueryApiConfig;
try {
  config = loadConfig();
} catch (error) {
  process.stderr.write(`query-api: ${(error as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger('query-api', config.LOG_LEVEL);
const aggregates = createPostgresAggregateStore({ connectionString: config.DATABASE_URL, poolSize: 8 });
const app = createQueryApp({
  aggregates,
  checkReady: () => aggregates.checkReady(),
  metrics: createMetrics(),
  logger,
  maxMinutes: config.AGGREGATES_MAX_MINUTES,
  debugBodyLimitBytes: config.DEBUG_BODY_LIMIT_BYTES,
});
const server = createHttpServer(app);
await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
logger.info('listening', { url: `http://${config.HOST}:${(server.address() as AddressInfo).port}` });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    server.close(() => {
      aggregates.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', errorFields(error));
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections();
  });
}
