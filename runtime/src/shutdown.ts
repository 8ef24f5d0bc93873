import { errorMessage } from '@usertags/contracts';
import type { Logger } from './logger.ts';
import { stopTelemetry } from './telemetry.ts';

/**
 * Runs `stop` once on the first SIGTERM or SIGINT, exports the spans still
 * buffered, then exits 0 (or 1 if stopping failed). Later signals are ignored
 * while it runs. With `deadlineMs`, a stop that has not finished by then is
 * given up: the process says so and exits 1 — for a program whose state is
 * safe to leave at any moment, so that a stop stuck on a broker (a consumer
 * that cannot leave its group) does not keep it running until it is killed.
 */
export function onShutdownSignal(logger: Logger, stop: () => Promise<void>, options: { deadlineMs?: number } = {}): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal });
      const flushed = () => stopTelemetry().catch(() => {});
      if (options.deadlineMs !== undefined) {
        const deadlineMs = options.deadlineMs;
        setTimeout(() => {
          logger.error('shutdown did not finish in time; exiting', { deadlineMs });
          process.exit(1);
        }, deadlineMs).unref();
      }
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
