/** The time source of the scheduler: real in a run, fake in tests. Times are in milliseconds. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock: a monotonic `performance.now()` and timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface OpenLoopOptions {
  /** Slots per second. */
  readonly rate: number;
  /** How long to issue slots; `rate * durationMs / 1000` slots in all. */
  readonly durationMs: number;
  readonly clock: Clock;
  /**
   * Called once per slot, in order, when the slot is due. It must start its
   * work and return without waiting for it: the schedule never waits for
   * answers, so a slow server does not lower the rate (open loop).
   */
  readonly onSlot: (slot: number, dueAt: number) => void;
  /** How often the clock is looked at; slots that fell due meanwhile are issued at once. */
  readonly tickMs?: number;
  readonly signal?: AbortSignal;
}

/** How many of the slots are due `elapsedMs` after the start: slot k is due at k / rate seconds. */
export function slotsDue(rate: number, elapsedMs: number, total: number): number {
  if (elapsedMs < 0) return 0;
  return Math.min(total, Math.floor((elapsedMs * rate) / 1000) + 1);
}

/**
 * Issues slots on a clock, open loop: slot k is due `k / rate` seconds after
 * the start, and every slot that is due is issued, late ones in a burst,
 * whatever became of the earlier ones. Resolves with the number of slots
 * issued (all of them unless the signal aborted the run).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<number> {
  const { rate, clock, onSlot } = options;
  const total = Math.floor((rate * options.durationMs) / 1000);
  const tick = options.tickMs ?? 1;
  const start = clock.now();
  let issued = 0;
  while (issued < total && options.signal?.aborted !== true) {
    const due = slotsDue(rate, clock.now() - start, total);
    while (issued < due) {
      onSlot(issued, start + (issued * 1000) / rate);
      issued++;
    }
    if (issued < total) await clock.sleep(tick);
  }
  return issued;
}

/**
 * A bound on requests in flight to one endpoint. A request that would pass
 * the bound is not sent and not delayed: it is counted as dropped, so the
 * schedule stays open loop and the client never queues.
 */
export class InFlightLimit {
  readonly max: number;
  private current = 0;
  private waiters: Array<() => void> = [];

  constructor(max: number) {
    this.max = max;
  }

  get inFlight(): number {
    return this.current;
  }

  /** Takes a place if one is free; false means the request must be dropped. */
  tryAcquire(): boolean {
    if (this.current >= this.max) return false;
    this.current++;
    return true;
  }

  release(): void {
    this.current--;
    if (this.current === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.current === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
