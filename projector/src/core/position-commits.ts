import type { EventSource } from '@usertags/contracts';

/** Progress of a consumer group: the next offset to read, per partition of one topic. */
type Progress = Array<{ partition: number; nextOffset: bigint }>;

export interface PositionCommits {
  /** Notes that `partition` of `topic` is applied up to `nextOffset`; it is committed now or within the interval. */
  note(topic: string, partition: number, nextOffset: bigint): void;
  /** Commits what has been noted and not committed yet, and waits for it. */
  flush(): Promise<void>;
  /** Drops what is noted and not committed yet (the reader is going back to an earlier position). */
  forget(): void;
  /** Stops the timer; anything noted and not flushed is re-applied after a restart. */
  close(): void;
}

/**
 * Commits a consumer group's positions at most once per `intervalMs` (0: on
 * every note), the newest noted offset of each partition. The profile
 * projection notes after every batch the store has taken; committing each of
 * those is a durable write to the log per batch (with the embedded log, a
 * second writer on the API's log file, contending for its write lock). A
 * position committed late only means that, after a crash, up to `intervalMs`
 * of tags are applied again, which the profile store treats as no change.
 * A commit that fails is logged by `onError` and retried with the next one.
 */
export function throttlePositionCommits(
  commit: EventSource['commit'],
  intervalMs: number,
  onError: (error: unknown) => void,
): PositionCommits {
  const noted = new Map<string, Map<number, bigint>>();
  let lastCommit = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let closed = false;

  const notedOf = (topic: string) => {
    const partitions = noted.get(topic) ?? new Map<number, bigint>();
    noted.set(topic, partitions);
    return partitions;
  };
  const arm = (ms: number) => {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      // Node starts a timer from the time its loop iteration began, so after a
      // long iteration it can fire before `ms` has passed: wait out the rest.
      const rest = lastCommit + intervalMs - performance.now();
      if (rest > 0 && noted.size > 0) arm(rest);
      else void commitNoted();
    }, ms);
    timer.unref();
  };
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };

  function commitNoted(): Promise<void> {
    disarm();
    lastCommit = performance.now();
    const batch = [...noted].map(([topic, partitions]) => {
      const progress: Progress = [...partitions].map(([partition, nextOffset]) => ({ partition, nextOffset }));
      return { topic, progress };
    });
    noted.clear();
    inFlight = inFlight.then(async () => {
      for (const { topic, progress } of batch) {
        try {
          await commit(topic, progress);
        } catch (error) {
          onError(error);
          // Put it back unless something newer was noted meanwhile.
          const partitions = notedOf(topic);
          for (const p of progress) if (!partitions.has(p.partition)) partitions.set(p.partition, p.nextOffset);
          arm(Math.max(intervalMs, 100));
        }
      }
    });
    return inFlight;
  }

  return {
    note(topic, partition, nextOffset) {
      if (closed) return;
      notedOf(topic).set(partition, nextOffset);
      const wait = lastCommit + intervalMs - performance.now();
      if (wait <= 0) void commitNoted();
      else arm(wait);
    },
    async flush() {
      if (noted.size > 0) await commitNoted();
      else await inFlight;
    },
    forget() {
      noted.clear();
      disarm();
    },
    close() {
      closed = true;
      disarm();
    },
  };
}
