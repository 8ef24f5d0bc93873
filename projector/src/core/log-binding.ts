import type { LogDescription } from '@usertags/contracts';

/**
 * A read model knows the log it was built from. Kafka offsets are not an
 * identity — a topic deleted and created again under the same name starts
 * again at offset 0, and another cluster has topics of the same name — so a
 * read model stores the log's identity beside its positions, and a projector
 * checks both against the log it finds before it applies anything (and again
 * while it runs). It never skips records silently: on a mismatch it refuses,
 * and the operator rebuilds the read model from the log it should follow
 * (`projector replay`), or points the projector back at the right log.
 */

export type BindingVerdict =
  /** The read model is bound to this log and its positions lie within it. */
  | { readonly kind: 'ok' }
  /** The read model is bound to no log yet (new, or written before identities were kept) and fits this one: bind it. */
  | { readonly kind: 'bind' }
  /**
   * `endMayBeStale`: refused only because a position lies past a partition's end, which one answer can
   * get wrong — a leader that was hung and resumes still answers with its old end until it learns it was
   * replaced — so the guard asks again before it refuses.
   */
  | { readonly kind: 'refuse'; readonly reason: string; readonly endMayBeStale?: boolean };

/**
 * Judges a read model's stored identity (`bound`) and positions (per
 * partition, the next offset to apply) against the log as found.
 *
 * Refused: another identity; a position past the partition's end (the log
 * lost records the read model has, e.g. restored from an older backup); a
 * partition the log does not have; a position before the partition's start
 * (records were deleted by retention before they were applied).
 */
export function judgeBinding(bound: string | undefined, log: LogDescription, positions: ReadonlyMap<number, bigint>): BindingVerdict {
  if (bound !== undefined && bound !== log.identity) {
    return {
      kind: 'refuse',
      reason: `the read model was built from log ${bound}, but the log found is ${log.identity}`,
    };
  }
  for (const [partition, position] of positions) {
    const held = log.partitions.get(partition);
    if (held === undefined) {
      if (position === 0n) continue;
      return {
        kind: 'refuse',
        reason: `the read model has position ${position} on partition ${partition}, which log ${log.identity} does not have`,
      };
    }
    if (position > held.end) {
      return {
        kind: 'refuse',
        reason: `the read model has applied partition ${partition} up to offset ${position}, past the end of log ${log.identity} (${held.end})`,
        endMayBeStale: true,
      };
    }
    if (position < held.start) {
      return {
        kind: 'refuse',
        reason: `partition ${partition} of log ${log.identity} starts at offset ${held.start}: offsets ${position}–${held.start - 1n} were deleted before the read model applied them`,
      };
    }
  }
  return bound === undefined ? { kind: 'bind' } : { kind: 'ok' };
}
