import { firstDifference } from '@usertags/contracts';
import { isOk, type Outcome } from './stats.ts';

/** What a checked query's answer earned. */
export type Verdict =
  | { readonly kind: 'correct' }
  | { readonly kind: 'wrong'; readonly difference: string }
  | { readonly kind: 'failed'; readonly why: string };

/** Compares an answer with the oracle's: correct only for a 2xx whose body is the expected JSON value. */
export function judge(expected: unknown, outcome: Outcome): Verdict {
  if (outcome.kind === 'timeout') return { kind: 'failed', why: `timed out after ${Math.round(outcome.latencyMs)} ms` };
  if (outcome.kind === 'error') return { kind: 'failed', why: `connection failed: ${outcome.error ?? 'unknown error'}` };
  if (!isOk(outcome)) return { kind: 'failed', why: `HTTP ${outcome.status}: ${outcome.body.slice(0, 200)}` };
  let actual: unknown;
  try {
    actual = JSON.parse(outcome.body);
  } catch {
    return { kind: 'wrong', difference: `the body is not JSON: ${outcome.body.slice(0, 120)}` };
  }
  const difference = firstDifference(expected, actual);
  return difference === undefined ? { kind: 'correct' } : { kind: 'wrong', difference };
}

/** One example of a wrong or failed answer, for the report. */
export interface Mismatch {
  readonly request: string;
  readonly verdict: string;
}

/** The correctness score of one query type. */
export interface QueryScoreSummary {
  /** Queries sent with an expected answer. */
  readonly checked: number;
  readonly correct: number;
  /** Answered 2xx with another answer. */
  readonly wrong: number;
  /** Timed out, failed or answered non-2xx. */
  readonly failed: number;
  /** `correct / checked` in percent; null when nothing was checked. */
  readonly correctPercent: number | null;
  /** Sent without an expected answer because it depended on tags whose fate is unknown. */
  readonly unchecked: number;
  /** Not asked because no data was old enough yet (the first 10 s of profiles, the first closed minute of aggregates). */
  readonly warmingUp: number;
  /** Why queries were unchecked, with counts (the most frequent reasons). */
  readonly uncheckedReasons: Readonly<Record<string, number>>;
  readonly examples: readonly Mismatch[];
}

const MAX_EXAMPLES = 10;

/** Tallies verdicts of one query type. */
export class QueryScore {
  checked = 0;
  correct = 0;
  wrong = 0;
  failed = 0;
  unchecked = 0;
  warmingUp = 0;
  private readonly reasons = new Map<string, number>();
  private readonly examples: Mismatch[] = [];

  onUnchecked(reason: string): void {
    this.unchecked++;
    // Reasons name times; the count is per kind of reason.
    const kind = reason.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>').replace(/number \d+/g, 'number <n>');
    this.reasons.set(kind, (this.reasons.get(kind) ?? 0) + 1);
  }

  onVerdict(request: string, verdict: Verdict): void {
    this.checked++;
    if (verdict.kind === 'correct') {
      this.correct++;
      return;
    }
    if (verdict.kind === 'wrong') this.wrong++;
    else this.failed++;
    if (this.examples.length < MAX_EXAMPLES)
      this.examples.push({ request, verdict: verdict.kind === 'wrong' ? `wrong: ${verdict.difference}` : `failed: ${verdict.why}` });
  }

  summary(): QueryScoreSummary {
    const top = [...this.reasons].sort((a, b) => b[1] - a[1]).slice(0, 8);
    return {
      checked: this.checked,
      correct: this.correct,
      wrong: this.wrong,
      failed: this.failed,
      correctPercent: percent(this.correct, this.checked),
      unchecked: this.unchecked,
      warmingUp: this.warmingUp,
      uncheckedReasons: Object.fromEntries(top),
      examples: [...this.examples],
    };
  }
}

/** `part / whole` in percent with two decimals; null for an empty whole. */
export function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 100;
}
