// Waiting and retrying, the same way everywhere: a promise for a pause, the backoff between attempts,
// and a connection made on first use that forgets a failed attempt.

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The pause before retry `attempt` (0, 1, …): 100 ms doubling each time, at most 5 s (reached at the sixth). */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
}

/** A connection made on first use and shared by every caller. */
export interface LazyConnection<T> {
  /** The connection, made now if there is none; a failed attempt is forgotten, so the next call tries again. */
  get(): Promise<T>;
  /** The connection made or being made, if any, without making one. */
  peek(): Promise<T> | undefined;
  /** Forgets the connection (e.g. one found broken, or on close), so the next `get` makes a new one. */
  forget(): void;
}

export function lazyConnection<T>(open: () => Promise<T>): LazyConnection<T> {
  let made: Promise<T> | undefined;
  return {
    get() {
      made ??= open().catch((error: unknown) => {
        made = undefined;
        throw error;
      });
      return made;
    },
    peek: () => made,
    forget() {
      made = undefined;
    },
  };
}
