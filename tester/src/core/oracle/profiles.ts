import { PROFILE_LIMIT_MAX, type ProfileAnswer, type UserTagInput } from '@usertags/contracts';
import type { Expected, Knowledge } from './expected.ts';

/** One tag of a cookie's history for one action, as the oracle walks it (newest first). */
export interface HistoryEntry {
  readonly timeMs: number;
  readonly knowledge: Knowledge;
  /** The tag as the system must give it back (canonical time); called only for tags in the answer. */
  tag(): UserTagInput;
}

/** A profile question; `limit` is what was asked (values above 200 are served as 200). */
export interface ProfileQuestion {
  readonly cookie: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly limit: number;
}

/** How many newest tags per action the system must keep (spec §3.2). */
export const KEPT_PER_ACTION = PROFILE_LIMIT_MAX;

/** A walk that goes this far without deciding gives up: the answer is then reported as undetermined. */
const MAX_STEPS = 20_000;

/**
 * One list of a profile answer (views or buys), or why it is undetermined.
 *
 * The system keeps at least the 200 newest tags of each action and may keep
 * more, and shows a tag only once it is fresh-bound old; so the list is
 * determined only when every way the system may legally behave gives the
 * same list. Walking the history newest first with `mayBeStored` = how many
 * tags seen so far could be stored (`visible` or `unknown`):
 * - a tag newer than the range only counts towards `mayBeStored`;
 * - once the list holds `limit` tags, older tags cannot change it: done;
 * - a tag in the range that is `unknown` may or may not be listed: undetermined;
 * - a `visible` tag in the range with `mayBeStored` > 200 may have been
 *   dropped by a system keeping exactly 200: undetermined;
 * - a tag older than the range ends the walk;
 * - two listed tags with the same time have no specified order: undetermined.
 */
export function expectedList(history: Iterable<HistoryEntry>, fromMs: number, toMs: number, limit: number): Expected<UserTagInput[]> {
  const list: UserTagInput[] = [];
  let mayBeStored = 0;
  let steps = 0;
  let lastListedMs = Number.NaN;
  for (const entry of history) {
    if (++steps > MAX_STEPS) return { determined: false, reason: `history longer than ${MAX_STEPS} tags` };
    if (entry.knowledge === 'absent') continue;
    mayBeStored++;
    if (entry.timeMs >= toMs) continue;
    if (entry.timeMs < fromMs) break;
    const at = new Date(entry.timeMs).toISOString();
    if (entry.timeMs === lastListedMs) return { determined: false, reason: `two tags at ${at}: their order is unspecified` };
    if (list.length >= limit) break;
    if (entry.knowledge === 'unknown') return { determined: false, reason: `the tag at ${at} is not known to be visible` };
    if (mayBeStored > KEPT_PER_ACTION)
      return { determined: false, reason: `the tag at ${at} is number ${mayBeStored} from the newest and may have been dropped` };
    lastListedMs = entry.timeMs;
    list.push(entry.tag());
  }
  return { determined: true, answer: list };
}

/**
 * The answer spec §3.2 requires for a question, from the cookie's VIEW and
 * BUY histories (each newest first), or why it cannot be known.
 */
export function expectedProfile(q: ProfileQuestion, views: Iterable<HistoryEntry>, buys: Iterable<HistoryEntry>): Expected<ProfileAnswer> {
  const limit = Math.min(q.limit, PROFILE_LIMIT_MAX);
  const v = expectedList(views, q.fromMs, q.toMs, limit);
  if (!v.determined) return { determined: false, reason: `views: ${v.reason}` };
  const b = expectedList(buys, q.fromMs, q.toMs, limit);
  if (!b.determined) return { determined: false, reason: `buys: ${b.reason}` };
  return { determined: true, answer: { cookie: q.cookie, views: v.answer, buys: b.answer } as ProfileAnswer };
}
