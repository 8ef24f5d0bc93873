import { errorMessage } from '@usertags/contracts';
import type { Logger } from './logger.ts';
import { stopTelemetry } from './telemetry.ts';

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, exports the spans still
 * buffered, then exits 0 (or 1 if stopping failed). Later signals are ignored
 * while it runs.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      const flushed = () => stopTelemetry().catch(() => {});
      stop().then(
        () => flushed().then(() => process.exit(0)),
        (error: unknown) => {
          logger.error('shutdown failed', { error: errorMessage(error) });
          void flushed().then(() => process.exit(1));
        },
      );
    });
  }
}
