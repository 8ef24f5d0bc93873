// Several worker processes of one program on one port (WORKERS > 1), so an API uses more than one core.
// The process started becomes a node:cluster primary: it forks the workers (each runs the program's
// main.ts again and is a whole app, with its own stores' connections), hands them the connections
// round-robin, replaces a worker that dies, answers the workers' /metrics requests for all of them, and
// on SIGTERM or SIGINT lets every worker drain as a single process does. With WORKERS=1 none of this
// runs: the program is the one process it always was.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from './logger.ts';
import { stopTelemetry } from './telemetry.ts';
import { backoffMs } from './waiting.ts';
import { serveWorkerMetrics } from './worker-metrics.ts';

/** A worker that exits before it listened, or sooner than this after, failed to start: its replacement waits (backoff). */
const QUICK_EXIT_MS = 1000;
/** Failed starts in a row, before any worker ever listened, after which the workers are taken to never start. */
const GIVE_UP_AFTER = 3;

/** True when this process is to run `workers` workers rather than serve itself: more than one, and not a worker. */
export function isWorkerPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/**
 * Forks `count` workers and looks after them until SIGTERM or SIGINT, which
 * is passed to each worker; exits 0 once all have exited (1 if one failed its
 * shutdown). Exits non-zero at start when the workers keep dying before any
 * of them listened (the port in use, a store that cannot be opened).
 */
export function superviseWorkers(count: number, logger: Logger): void {
  serveWorkerMetrics();
  /** Each running worker, and when it listened (undefined: not yet). */
  const listenedAt = new Map<Worker, number | undefined>();
  let anyListened = false;
  let failedStarts = 0;
  let stopping = false;
  let shutdownFailed = false;

  const fork = () => {
    if (stopping) return;
    const worker = cluster.fork();
    listenedAt.set(worker, undefined);
    // A message to a worker that has just died fails with an error event; unheard, it would end the primary.
    worker.on('error', (error: Error) => logger.warn('could not reach a worker', { pid: worker.process.pid, error: error.message }));
    logger.info('worker started', { pid: worker.process.pid });
  };
  const finish = () =>
    void stopTelemetry()
      .catch(() => {})
      .then(() => process.exit(shutdownFailed ? 1 : 0));

  cluster.on('listening', (worker) => {
    anyListened = true;
    listenedAt.set(worker, Date.now());
  });
  cluster.on('exit', (worker, code, signal) => {
    const listened = listenedAt.get(worker);
    listenedAt.delete(worker);
    if (stopping) {
      // A worker the signal reached before it could drain had nothing to drain; a non-zero code is a failed shutdown.
      if (code !== 0 && code !== null) shutdownFailed = true;
      if (listenedAt.size === 0) finish();
      return;
    }
    const reason = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    // Measured from listening, not from the fork: loading the modules alone can take a second on a busy machine.
    failedStarts = listened === undefined || Date.now() - listened < QUICK_EXIT_MS ? failedStarts + 1 : 0;
    if (!anyListened && failedStarts >= GIVE_UP_AFTER) {
      logger.error('workers cannot start; stopping', { reason, attempts: failedStarts });
      process.exit(code !== null && code !== 0 ? code : 1);
    }
    const delayMs = failedStarts === 0 ? 0 : backoffMs(failedStarts - 1);
    logger.warn('worker died; starting a replacement', { pid: worker.process.pid, reason, inMs: delayMs });
    setTimeout(fork, delayMs);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info('shutting down', { signal, workers: listenedAt.size });
      // The signal itself, not worker.kill(): each worker then drains as a single process does (onShutdownSignal).
      for (const worker of listenedAt.keys()) worker.process.kill(signal);
      if (listenedAt.size === 0) finish();
    });
  }

  logger.info('starting workers', { workers: count });
  for (let i = 0; i < count; i++) fork();
}
