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

/**
 * A connection made on first use, with a second one (the spare) made as soon
 * as the first is asked for and kept open ahead of need: after `forget`, the
 * next `get` takes the spare, already open, instead of waiting for a new one,
 * and another spare is made in the background. For connections that are
 * slow to make exactly when they are needed — a Kafka producer's id is handed
 * out by the cluster's controller, which is what a failing broker may have
 * been. A spare that fails to open is made again after a backoff.
 */
export interface SparedConnection<T> extends LazyConnection<T> {
  /** Stops making spares and forgets both connections; returns them, made or being made, to be closed. */
  release(): Promise<T>[];
}

export function sparedConnection<T>(open: () => Promise<T>): SparedConnection<T> {
  let current: Promise<T> | undefined;
  let spare: Promise<T> | undefined;
  let released = false;
  let failures = 0;

  function makeSpare(): void {
    if (released || spare !== undefined) return;
    const made = open();
    spare = made;
    made.then(
      () => {
        failures = 0;
      },
      () => {
        if (spare === made) spare = undefined;
        if (!released) setTimeout(makeSpare, backoffMs(failures++)).unref();
      },
    );
  }

  return {
    get() {
      if (current === undefined) {
        const taken = spare ?? open();
        spare = undefined;
        const made: Promise<T> = taken.catch((error: unknown) => {
          if (current === made) current = undefined;
          throw error;
        });
        current = made;
        makeSpare();
      }
      return current;
    },
    peek: () => current,
    forget() {
      current = undefined;
    },
    release() {
      released = true;
      const all = [current, spare].filter((c): c is Promise<T> => c !== undefined);
      current = undefined;
      spare = undefined;
      return all;
    },
  };
}
