import { AppendInDoubt, ContractError, type EventAppender, type LogRecord, PartlyAppended } from '@usertags/contracts';

export interface BatchingOptions {
  /** Longest a batch's oldest record waits for company while more keep coming (a batch that stops growing or is full leaves at once). */
  readonly lingerMs: number;
  /** Most records in one append to the log. */
  readonly maxBatch: number;
  /** Records queued, in flight or in doubt at once; beyond it `append` rejects with OVERLOADED at once. */
  readonly maxPending: number;
  /** How long a record may wait in the queue before it is dropped from it and rejected (it is then not stored). */
  readonly queueTimeoutMs: number;
  /**
   * How many clients could have a record waiting at most (the connections
   * that have sent tags and are still open). Once that many are waiting, no
   * one is left to join the batch and it leaves without lingering. Absent:
   * unknown, the linger alone decides.
   */
  readonly clients?: (() => number) | undefined;
}

export interface BatchObserver {
  /** Called after every append to the log with its size, duration and outcome. */
  onBatch(size: number, seconds: number, ok: boolean): void;
}

/** Appends single records, each call resolving once its own record is durable. */
export interface RecordAppender {
  append(record: LogRecord): Promise<void>;
  /** Records queued, in flight, or waiting to learn whether an append that failed stored them. */
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
 * Where the sender is. At most one append is in flight; before it starts, a
 * batch may linger for company or be due on the loop's next turn.
 */
type Sender =
  /** Nothing in flight and nothing arranged. */
  | { readonly kind: 'idle' }
  /**
   * The batch waits for company: `seen` records were waiting at `seenAt`.
   * Either a look in a millisecond is set (`timer`) or, once nothing joined
   * for a millisecond, a last look after the loop has read its sockets (`lastLook`).
   */
  | {
      readonly kind: 'lingering';
      seen: number;
      seenAt: number;
      timer?: NodeJS.Timeout | undefined;
      lastLook?: NodeJS.Immediate | undefined;
    }
  /** The batch leaves on the loop's next turn. */
  | { readonly kind: 'due' }
  /** One append of `size` records is in flight. */
  | { readonly kind: 'appending'; readonly size: number };

type Lingering = Extract<Sender, { kind: 'lingering' }>;

const IDLE: Sender = { kind: 'idle' };

/**
 * Group commit over an `EventAppender`: records that arrive while one append
 * is in flight are gathered and sent together as the next one, so a single
 * produce request carries many requests' tags; a batch lingers while records
 * keep joining it, up to `lingerMs` (see `schedule`). Only one append is in flight
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
  // queue[head..] are waiting; avoids shifting on every dequeue. The slots before head are emptied as
  // their entries are taken, so that an entry lives no longer than its append.
  const queue: Array<Entry | undefined> = [];
  let head = 0;
  let sender: Sender = IDLE;
  let sweepTimer: NodeJS.Timeout | undefined;
  let drainWaiters: Array<() => void> = [];
  let doubtful = 0; // records of failed appends whose fate the log has yet to tell (AppendInDoubt)

  const waiting = () => queue.length - head;
  const inFlight = () => (sender.kind === 'appending' ? sender.size : 0);
  const { clients } = options;
  /** The batch cannot grow: it is full, or every client that could add to it already has. */
  const complete = () => waiting() >= options.maxBatch || (clients !== undefined && waiting() >= clients());

  function compact(): void {
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }

  function expireStale(): void {
    const cutoff = now() - options.queueTimeoutMs;
    while (head < queue.length && (queue[head] as Entry).enqueuedAt <= cutoff) {
      const entry = queue[head] as Entry;
      queue[head++] = undefined;
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
    if (waiting() === 0 && inFlight() === 0 && doubtful === 0 && drainWaiters.length > 0) {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Arranges the next append: at once when a batch is full, when every
   * client that could add to it has (`clients`), or when its oldest
   * record has already waited `lingerMs`; otherwise the batch lingers —
   * also right after an append completes — for as long as records keep
   * joining it: a look every millisecond sends it as soon as one passes with
   * no new record, and at the latest when its oldest has waited `lingerMs`.
   * A steady stream of independent requests thus leaves in batches of about
   * rate × linger, while a fixed set of clients that each wait for their
   * answer is not held up by the linger: their batch leaves once all of
   * them are in it, or a millisecond after the last one joined.
   */
  function schedule(): void {
    if (sender.kind === 'appending' || sender.kind === 'due' || waiting() === 0) return;
    const wait = complete() ? 0 : (queue[head] as Entry).enqueuedAt + options.lingerMs - now();
    if (wait <= 0) {
      stopLingering();
      sender = { kind: 'due' };
      setImmediate(flush);
    } else if (sender.kind === 'idle') {
      const lingering: Lingering = { kind: 'lingering', seen: -1, seenAt: 0 }; // seen -1: the first look starts its millisecond now
      sender = lingering;
      lookLater(lingering, now());
    }
  }

  /** Looks at the lingering batch again in a millisecond; `seen` and `seenAt` move only when it grew. */
  function lookLater(lingering: Lingering, t: number): void {
    if (waiting() !== lingering.seen) {
      lingering.seen = waiting();
      lingering.seenAt = t;
    }
    lingering.timer = setTimeout(() => lookAgain(lingering), 1);
  }

  function lookAgain(lingering: Lingering): void {
    lingering.timer = undefined;
    if (waiting() === 0) {
      sender = IDLE;
      return;
    }
    const t = now();
    if (t - (queue[head] as Entry).enqueuedAt >= options.lingerMs || complete()) {
      flush();
      return;
    }
    // Timers may fire a little early: no growth counts only once a whole millisecond has passed.
    if (waiting() !== lingering.seen || t - lingering.seenAt < 1) {
      lookLater(lingering, t);
      return;
    }
    // Nothing joined in a millisecond. Timers run before the loop reads its sockets, so after a
    // stall the requests that arrived meanwhile are not queued yet: decide once they have been read.
    lingering.lastLook = setImmediate(() => {
      lingering.lastLook = undefined;
      if (waiting() === 0) {
        sender = IDLE;
        return;
      }
      if (waiting() === lingering.seen) flush();
      else lookLater(lingering, now());
    });
  }

  /** Leaves the lingering state (if in it): its looks are cancelled. */
  function stopLingering(): void {
    if (sender.kind !== 'lingering') return;
    if (sender.timer !== undefined) clearTimeout(sender.timer);
    if (sender.lastLook !== undefined) clearImmediate(sender.lastLook);
    sender = IDLE;
  }

  function flush(): void {
    if (sender.kind === 'appending') return;
    stopLingering();
    sender = IDLE;
    expireStale();
    if (waiting() === 0) return;
    const end = Math.min(queue.length, head + options.maxBatch);
    const batch = queue.slice(head, end) as Entry[];
    // Taken: kept by the batch alone. Held by the array until it was compacted (every thousand or so), the
    // entries of many batches outlived two scavenges and were promoted to the old generation.
    queue.fill(undefined, head, end);
    head = end;
    compact();
    sender = { kind: 'appending', size: batch.length };
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
        // A record the log made durable is answered as stored even when others of its batch were not.
        const stored = error instanceof PartlyAppended ? error.stored : [];
        const undecided: Array<[number, Entry]> = [];
        for (const [i, e] of batch.entries()) {
          if (stored[i] === true) e.resolve();
          else if (error instanceof AppendInDoubt) undecided.push([i, e]);
          else e.reject(error);
        }
        if (error instanceof AppendInDoubt && undecided.length > 0) awaitVerdict(error, undecided);
        finish();
      },
    );
  }

  /**
   * Records whose append failed without telling whether the log stored them
   * wait for the log's verdict apart, so the next append need not wait; they
   * count as pending until then, and `drain` waits for them too.
   */
  function awaitVerdict(error: AppendInDoubt, undecided: ReadonlyArray<[number, Entry]>): void {
    doubtful += undecided.length;
    const settle = (final: readonly boolean[]) => {
      for (const [i, e] of undecided) {
        if (final[i] === true) e.resolve();
        else e.reject(error);
      }
      doubtful -= undecided.length;
      notifyDrained();
    };
    error.settled.then(settle, () => settle([]));
  }

  function finish(): void {
    sender = IDLE;
    schedule();
    notifyDrained();
  }

  return {
    append(record) {
      if (waiting() + inFlight() + doubtful >= options.maxPending) {
        return Promise.reject(new ContractError('OVERLOADED', 'too many tags are waiting for the event log; retry shortly'));
      }
      return new Promise<void>((resolve, reject) => {
        queue.push({ record, enqueuedAt: now(), resolve, reject });
        schedule();
      });
    },
    pending: () => waiting() + inFlight() + doubtful,
    drain() {
      if (waiting() === 0 && inFlight() === 0 && doubtful === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
  };
}
