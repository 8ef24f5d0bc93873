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
 * A connection made on first use, with spares made as soon as it is asked
 * for and kept open ahead of need: after `forget`, the next `get` takes a
 * spare that is open (or, if none is yet, the one asked for first) instead
 * of waiting for a new one, and another spare is made in the background.
 * For connections that are slow to make exactly when they are needed — a
 * Kafka producer's id is handed out by the cluster's controller, which is
 * what a failing broker may have been. A spare that fails to open is made
 * again after a backoff.
 */
export interface SparedConnection<T> extends LazyConnection<T> {
  /** Stops making spares and forgets every connection; returns them, made or being made, to be closed. */
  release(): Promise<T>[];
}

export function sparedConnection<T>(open: () => Promise<T>, spares = 1): SparedConnection<T> {
  let current: Promise<T> | undefined;
  const kept: { made: Promise<T>; open: boolean }[] = [];
  let released = false;
  let failures = 0;

  function makeSpares(): void {
    while (!released && kept.length < spares) {
      const spare = { made: open(), open: false };
      kept.push(spare);
      spare.made.then(
        () => {
          spare.open = true;
          failures = 0;
        },
        () => {
          const at = kept.indexOf(spare);
          if (at >= 0) kept.splice(at, 1);
          if (!released) setTimeout(makeSpares, backoffMs(failures++)).unref();
        },
      );
    }
  }

  return {
    get() {
      if (current === undefined) {
        const at = kept.findIndex((spare) => spare.open);
        const taken = kept.length > 0 ? kept.splice(Math.max(at, 0), 1)[0]?.made : undefined;
        const made: Promise<T> = (taken ?? open()).catch((error: unknown) => {
          if (current === made) current = undefined;
          throw error;
        });
        current = made;
        makeSpares();
      }
      return current;
    },
    peek: () => current,
    forget() {
      current = undefined;
    },
    release() {
      released = true;
      const all = [...(current === undefined ? [] : [current]), ...kept.map((spare) => spare.made)];
      current = undefined;
      kept.length = 0;
      return all;
    },
  };
}
