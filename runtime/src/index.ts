export { loadEnvConfig } from './config.ts';
export { createHttpServer } from './http-server.ts';
export { isJsonContentType, readJsonBody } from './json-body.ts';
export { createLogger, errorFields, type Logger, type LogLevel } from './logger.ts';
export { sendProblem } from './problem.ts';
