import { ContractError, type EventAppender, type LogRecord } from '@usertags/contracts';

export interface BatchingOptions {
  /** How long the oldest record of a batch waits for company before it is sent (unless the batch is full first). */
  readonly lingerMs: number;
  /** Most records in one append to the log. */
  readonly maxBatch: number;
  /** Records queued or in flight at once; beyond it `append` rejects with OVERLOADED at once. */
  readonly maxPending: number;
  /** How long a record may wait in the queue before it is dropped from it and rejected (it is then not stored). */
  readonly queueTimeoutMs: number;
}

export interface BatchObserver {
  /** Called after every append to the log with its size, duration and outcome. */
  onBatch(size: number, seconds: number, ok: boolean): void;
}

/** Appends single records, each call resolving once its own record is durable. */
export interface RecordAppender {
  append(record: LogRecord): Promise<void>;
  /** Records queued or in flight. */
  pending(): number;
  /** Resolves once every record accepted so far has been appended or rejected. */
  drain(): Promise<void>;
}

interface Entry {
  readonly record: LogRecord;
  readonly enqueuedAt: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit over an `EventAppender`: records that arrive while one append
 * is in flight are gathered and sent together as the next one, so a single
 * produce request carries many requests' tags; a batch leaves when it is
 * full or its oldest record has lingered `lingerMs`. Only one append is in flight
 * at a time, which keeps per-key order and suits Kafka's idempotent producer.
 * A record still queued when its time is up is removed and rejected, so a
 * rejected record is never appended later.
 */
export function createBatchingAppender(
  log: EventAppender,
  options: BatchingOptions,
  observer: BatchObserver = { onBatch: () => {} },
  now: () => number = performance.now.bind(performance),
): RecordAppender {
  const queue: Entry[] = [];
  let head = 0; // queue[head..] are waiting; avoids shifting on every dequeue
  let inFlight = 0;
  let lingerTimer: NodeJS.Timeout | undefined;
  let flushQueued = false;
  let sweepTimer: NodeJS.Timeout | undefined;
  let drainWaiters: Array<() => void> = [];

  const waiting = () => queue.length - head;

  function compact(): void {
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }

  function expireStale(): void {
    const cutoff = now() - options.queueTimeoutMs;
    while (head < queue.length && (queue[head] as Entry).enqueuedAt <= cutoff) {
      const entry = queue[head] as Entry;
      head++;
      entry.reject(
        new ContractError('LOG_UNAVAILABLE', `the event log did not take the tag within ${options.queueTimeoutMs} ms; it was not stored`),
      );
    }
    compact();
    notifyDrained();
  }

  function startSweeping(): void {
    if (sweepTimer !== undefined) return;
    const period = Math.max(5, Math.min(50, Math.floor(options.queueTimeoutMs / 4)));
    sweepTimer = setInterval(() => {
      expireStale();
      if (waiting() === 0 && sweepTimer !== undefined) {
        clearInterval(sweepTimer);
        sweepTimer = undefined;
      }
    }, period);
    sweepTimer.unref();
  }

  function notifyDrained(): void {
    if (waiting() === 0 && inFlight === 0 && drainWaiters.length > 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Arranges the next append: at once when a batch is full, else when the
   * oldest waiting record has waited `lingerMs` — also right after an append
   * completes, so that a steady stream of tags leaves in batches of about
   * rate × linger rather than in as many requests as the log can take.
   */
  function schedule(): void {
    if (inFlight > 0 || waiting() === 0) return;
    const wait = waiting() >= options.maxBatch ? 0 : (queue[head] as Entry).enqueuedAt + options.lingerMs - now();
    if (wait <= 0) {
      if (lingerTimer !== undefined) clearTimeout(lingerTimer);
      lingerTimer = undefined;
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(flush);
      }
    } else if (lingerTimer === undefined) {
      lingerTimer = setTimeout(flush, Math.ceil(wait));
    }
  }

  function flush(): void {
    flushQueued = false;
    if (lingerTimer !== undefined) clearTimeout(lingerTimer);
    lingerTimer = undefined;
    if (inFlight > 0) return;
    expireStale();
    if (waiting() === 0) return;
    const end = Math.min(queue.length, head + options.maxBatch);
    const batch = queue.slice(head, end);
    head = end;
    compact();
    inFlight = batch.length;
    const started = now();
    startSweeping();
    log.append(batch.map((e) => e.record)).then(
      () => {
        observer.onBatch(batch.length, (now() - started) / 1000, true);
        for (const e of batch) e.resolve();
        finish();
      },
      (error: unknown) => {
        observer.onBatch(batch.length, (now() - started) / 1000, false);
        for (const e of batch) e.reject(error);
        finish();
      },
    );
  }

  function finish(): void {
    inFlight = 0;
    schedule();
    notifyDrained();
  }

  return {
    append(record) {
      if (waiting() + inFlight >= options.maxPending) {
        return Promise.reject(new ContractError('OVERLOADED', 'too many tags are waiting for the event log; retry shortly'));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, enqueuedAt: now(), resolve, reject });
        schedule();
      });
    },
    pending: () => waiting() + inFlight,
    drain() {
      if (waiting() === 0 && inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}
