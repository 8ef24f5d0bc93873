export { env, loadConfigOrExit, loadEnvConfig } from './config.ts';
export { createHttpServer } from './http-server.ts';
export { isJsonContentType, readJsonBody, readTextBody } from './json-body.ts';
export { createLogger, errorFields, type Logger, type LogLevel } from './logger.ts';
export { mountFallbacks, mountOperational, type OperationalDeps } from './operational.ts';
export { sendProblem } from './problem.ts';
export { onShutdownSignal } from './shutdown.ts';
