import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEventCodec, type EventAppender } from '@usertags/contracts';
import type { Logger } from '@usertags/runtime';
import { createHttpServer, tracingActive } from '@usertags/runtime';
import { createOtelAppendTracer, createOtelRequestTracer } from './adapters/otel-ingest-tracing.ts';
import type { CommandApiConfig } from './config.ts';
import { createBatchingAppender } from './core/batching-appender.ts';
import { createIngest } from './core/ingest.ts';
import { localTraceContext } from './core/trace-context.ts';
import { createApp } from './http/app.ts';
import { createIngestClients } from './http/ingest-clients.ts';
import { createIngestRoute, INGEST_PATH } from './http/ingest-route.ts';
import { createMetrics } from './metrics.ts';

export interface CommandApi {
  readonly server: Server;
  /** The bound port (useful with PORT=0). */
  port(): number;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), flushes, closes the log. */
  shutdown(): Promise<void>;
}

/**
 * Wires the command API from its config, an event log and a logger, and
 * starts listening. Used by main.ts and by the end-to-end tests.
 */
export async function startCommandApi(config: CommandApiConfig, log: EventAppender, logger: Logger): Promise<CommandApi> {
  const clients = createIngestClients();
  const appender = createBatchingAppender(
    log,
    {
      lingerMs: config.BATCH_LINGER_MS,
      maxBatch: config.BATCH_MAX_RECORDS,
      maxPending: config.MAX_PENDING,
      queueTimeoutMs: config.APPEND_TIMEOUT_MS,
      clients: clients.count,
    },
    {
      onBatch(size, seconds, ok) {
        metrics.batchSize.observe(size);
        metrics.appendDuration.observe({ outcome: ok ? 'ok' : 'error' }, seconds);
      },
    },
  );
  const metrics = createMetrics(() => appender.pending());
  let shuttingDown = false;
  // Tracing off keeps the cheap local traceparent; on, a server span per request and a producer span per tag, whose context the record carries.
  const tracing = tracingActive();
  const ingestRoute = createIngestRoute({
    ingest: createIngest(
      appender,
      createEventCodec(),
      tracing ? createOtelAppendTracer(config.KAFKA_TOPIC, config.eventLog.kind === 'kafka' ? 'kafka' : 'embedded') : localTraceContext,
    ),
    metrics,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    isShuttingDown: () => shuttingDown,
    clients,
    traceRequest: tracing ? createOtelRequestTracer(INGEST_PATH) : undefined,
  });
  const app = createApp({ ingestRoute, log, metrics, logger });
  const server = createHttpServer(app, {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    logger,
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    server,
    port: () => (server.address() as AddressInfo).port,
    shutdown() {
      stopping ??= (async () => {
        shuttingDown = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets become idle as their last responses go out; close each as it does.
        const reaper = setInterval(() => server.closeIdleConnections(), 25);
        const grace = new Promise<void>((resolve) => setTimeout(resolve, config.SHUTDOWN_GRACE_MS).unref());
        await Promise.race([Promise.all([closed, appender.drain()]), grace]);
        clearInterval(reaper);
        server.closeAllConnections();
        await log.close();
      })();
      return stopping;
    },
  };
}
