import { Worker } from 'node:worker_threads';
import { ContractError, type EventAppender, type LogRecord } from '@usertags/contracts';
import type { WorkerCall, WorkerReply, WorkerRequest } from './embedded-log-worker.ts';

export interface EmbeddedEventLogConfig {
  /** The log file (created with its folder when missing). */
  readonly path: string;
  readonly topic: string;
  /** Partitions when this process creates the topic; an existing topic keeps its own. */
  readonly partitions: number;
}

/**
 * The command side of the embedded event log (runtime/src/embedded-log.ts):
 * an append resolves once SQLite has committed the records durably. The
 * writes run on a worker thread (embedded-log-worker.ts), so the API's event
 * loop never waits for the disk. The file is opened lazily and again after a
 * failure, so a log that cannot be opened (a bad path, a full disk) answers
 * LOG_UNAVAILABLE instead of stopping the API.
 */
export function createEmbeddedEventLog(config: EmbeddedEventLogConfig): EventAppender {
  let worker: Worker | undefined;
  let closed = false;
  let nextId = 0;
  const pending = new Map<number, { resolve(): void; reject(error: Error): void }>();

  function unavailable(reason: string): ContractError {
    return new ContractError('LOG_UNAVAILABLE', `the event log is unavailable (${reason}); the tag was not stored`);
  }

  function failAll(reason: string): void {
    for (const p of pending.values()) p.reject(unavailable(reason));
    pending.clear();
  }

  function start(): Worker {
    if (worker !== undefined) return worker;
    const w = new Worker(new URL('./embedded-log-worker.ts', import.meta.url), { workerData: { ...config } });
    w.on('message', (reply: WorkerReply) => {
      const p = pending.get(reply.id);
      if (p === undefined) return;
      pending.delete(reply.id);
      if (reply.ok) p.resolve();
      else p.reject(unavailable(reply.error));
    });
    w.on('error', (error) => failAll(error.message));
    w.on('exit', () => {
      if (worker === w) worker = undefined;
      failAll('the log writer stopped');
    });
    worker = w;
    return w;
  }

  function call(request: WorkerCall): Promise<void> {
    if (closed) return Promise.reject(new ContractError('SHUTTING_DOWN', 'the event log is closed'));
    const id = nextId++;
    return new Promise<void>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      const message: WorkerRequest = { ...request, id };
      start().postMessage(message);
    });
  }

  return {
    append: (records: readonly LogRecord[]) => call({ kind: 'append', records: [...records] }),
    checkReady: () => call({ kind: 'ready' }),
    async close() {
      if (closed) return;
      // Appends already handed over finish first: the worker answers in order.
      if (pending.size > 0) await call({ kind: 'ready' }).catch(() => {});
      closed = true;
      await worker?.terminate();
      worker = undefined;
    },
  };
}
