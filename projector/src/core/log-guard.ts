import { ContractError, type EventSource, type LogDescription } from '@usertags/contracts';
import { errorFields, type Logger } from '@usertags/runtime';
import { judgeBinding } from './log-binding.ts';

/** What the guard needs of one projection's read model. */
export interface BoundReadModel {
  /** The log identity the (live version of the) read model is bound to, if any. */
  binding(): Promise<string | undefined>;
  /** Binds it to `identity` unless bound already; resolves what it is bound to. */
  bind(identity: string): Promise<string>;
  /** Per partition, the next offset the read model will apply. */
  positions(): Promise<ReadonlyMap<number, bigint>>;
}

export interface LogGuardObserver {
  /** The read model refuses the log (true) or follows it again (false). */
  onRefusing(refusing: boolean): void;
}

export type GuardState = 'following' | 'refusing' | 'no-topic';

/**
 * A position past a partition's end is looked at again this many times, this far apart, before the read
 * model refuses the log: a broker that was hung (SIGSTOP in the broker-pause drill) answers with its old end
 * for a few seconds after it resumes, until it learns another broker leads now (the drill saw 3.5 s). Its
 * source is paused meanwhile, so nothing is applied or skipped while it is not settled.
 */
export const PAST_END_CONFIRMATIONS = 3;
export const PAST_END_CONFIRM_MS = 2000;

export interface LogGuard {
  /**
   * Compares the read model with the log as it is now; binds an unbound read model that fits. Pauses the
   * source while refusing and resumes it once the read model fits again (e.g. after a replay).
   */
  check(): Promise<GuardState>;
  /** Throws LOG_MISMATCH (a 503 on /ready) while the read model refuses the log. */
  throwIfRefusing(): void;
  /** The log as the last check found it (its partitions' ends give the lag). */
  lastLog(): LogDescription | undefined;
  /** Looks at the log's ends only (no store involved), so the lag is known while the read model's store is unreachable. */
  look(): Promise<LogDescription | undefined>;
}

/**
 * Keeps a projection from applying records of a log its read model was not built from
 * (core/log-binding.ts): checked before it starts consuming and every few seconds while it runs.
 */
export function createLogGuard(
  projection: string,
  topic: string,
  source: EventSource,
  model: BoundReadModel,
  observer: LogGuardObserver,
  logger: Logger,
  confirmMs: number = PAST_END_CONFIRM_MS,
): LogGuard {
  let refusal: string | undefined;
  let lastSeen: LogDescription | undefined;
  let paused = false;

  function refuse(reason: string): GuardState {
    if (refusal !== reason) {
      logger.error('the read model does not match the event log; not projecting', {
        projection,
        topic,
        reason,
        remedy: `rebuild it from this log (projector replay ${projection}), or point the projector at the log it was built from`,
      });
    }
    if (refusal === undefined) observer.onRefusing(true);
    refusal = reason;
    if (!paused) {
      source.pause();
      paused = true;
    }
    return 'refusing';
  }

  return {
    async check() {
      // Positions first: read after the log's ends, a position could have moved past them meanwhile.
      const positions = await model.positions();
      let bound = await model.binding();
      const log = await source.describe(topic);
      lastSeen = log;
      if (log === undefined) return 'no-topic';
      let verdict = judgeBinding(bound, log, positions);
      if (verdict.kind === 'bind') {
        // Another writer may have bound it first, to another log: judge what the store holds now.
        bound = await model.bind(log.identity);
        verdict = judgeBinding(bound, log, positions);
        if (verdict.kind === 'ok') logger.info('read model bound to its event log', { projection, topic, log: log.identity });
      }
      for (
        let i = 0;
        i < PAST_END_CONFIRMATIONS && verdict.kind === 'refuse' && verdict.endMayBeStale === true && refusal === undefined;
        i++
      ) {
        if (!paused) {
          source.pause();
          paused = true;
        }
        await new Promise((r) => setTimeout(r, confirmMs));
        const again = await source.describe(topic);
        if (again === undefined) break;
        lastSeen = again;
        verdict = judgeBinding(bound, again, positions);
      }
      if (verdict.kind === 'refuse') return refuse(verdict.reason);
      if (refusal !== undefined) {
        logger.info('the read model matches the event log again; projecting', { projection, topic, log: log.identity });
        refusal = undefined;
        observer.onRefusing(false);
      }
      if (paused) {
        source.resume();
        paused = false;
      }
      return 'following';
    },
    lastLog: () => lastSeen,
    async look() {
      lastSeen = await source.describe(topic);
      return lastSeen;
    },
    throwIfRefusing() {
      if (refusal !== undefined) throw new ContractError('LOG_MISMATCH', `${projection}: ${refusal}`);
    },
  };
}

/** How often a projection looks again for a topic nobody has created yet: its first tags must not wait a whole check interval. */
const TOPIC_WAIT_MS = 250;

/**
 * Checks until the read model follows the log: every `everyMs` while it refuses (until a replay) or the log
 * cannot be reached, every TOPIC_WAIT_MS while the topic does not exist yet.
 */
export async function untilFollowing(guard: LogGuard, everyMs: number, logger: Logger, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    let state: GuardState | undefined;
    try {
      state = await guard.check();
      if (state === 'following') return;
    } catch (error) {
      logger.warn('could not compare the read model with the event log; trying again', errorFields(error));
    }
    await new Promise((r) => setTimeout(r, state === 'no-topic' ? Math.min(TOPIC_WAIT_MS, everyMs) : everyMs));
  }
}
