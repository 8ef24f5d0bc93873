export {
  type AggregatesChoice,
  adapterSettings,
  chooseAggregates,
  chooseEventLog,
  chooseProfiles,
  type EventLogChoice,
  type ProfilesChoice,
} from './adapters.ts';
export {
  DEFAULT_SAMPLING_RATIO,
  env,
  httpTimeoutsInOrder,
  loadConfigOrExit,
  loadEnvConfig,
  MAX_WORKERS,
  resolveWorkers,
} from './config.ts';
export { createHttpServer, type HttpServerOptions, type RequestHandler, targetIs, withHotRoutes } from './http-server.ts';
export { isJsonContentType, readJsonBody, readTextBody } from './json-body.ts';
export { createLogger, errorFields, type Logger, type LogLevel, limitRepeats } from './logger.ts';
export { mountFallbacks, mountOperational, type OperationalDeps, refuseOtherMethods } from './operational.ts';
export { sendProblem } from './problem.ts';
export { splitTarget, type TargetParts } from './request-target.ts';
export { onShutdownSignal } from './shutdown.ts';
export { openDurableSqlite, openSqlite, type SqliteDurability, statementsPerLimit, useWal } from './sqlite.ts';
export {
  type RunningTelemetry,
  startTelemetry,
  stopTelemetry,
  telemetryMetricsText,
  tracingActive,
  useTelemetryForTests,
  warnIfTelemetryMissing,
} from './telemetry.ts';
export { createLinkCollector, inChildSpan, inSpan, type LinkCollector, MAX_BATCH_LINKS, nameServerRoute } from './tracing.ts';
export { backoffMs, type LazyConnection, lazyConnection, type SparedConnection, sleep, sparedConnection } from './waiting.ts';
export { isWorkerPrimary, superviseWorkers } from './workers.ts';
