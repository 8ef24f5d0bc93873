// The command API exactly as main.ts wires it, except that its event log
// acknowledges every append at once without storing anything. bench:ingest
// runs it to separate the cost of the HTTP/validation/encoding path from the
// cost of kafkajs and the broker. Never used outside benchmarks.

import { loadConfig, startCommandApi } from '@usertags/command-api';
import type { EventAppender } from '@usertags/contracts';
import { createLogger } from '@usertags/runtime';

const config = loadConfig();
const logger = createLogger('null-log-api', config.LOG_LEVEL);
const log: EventAppender = {
  append: () => new Promise<void>((resolve) => setImmediate(resolve)),
  checkReady: async () => {},
  close: async () => {},
};
const api = await startCommandApi(config, log, logger);
logger.info('listening', { url: `http://127.0.0.1:${api.port()}` });
process.on('SIGTERM', () => void api.shutdown().then(() => process.exit(0)));
