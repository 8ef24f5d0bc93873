import { MS_PER_MINUTE, minuteOf, parseEventTime } from '@usertags/contracts';
import { Ledger, TagState } from './core/ledger.ts';
import {
  AGGREGATES_LOOKBACK_MINUTES,
  AGGREGATES_MAX_MINUTES,
  type PlannedQuery,
  planAggregatesQuery,
  planProfileQuery,
} from './core/plans.ts';
import { InFlightLimit, realClock, runOpenLoop } from './core/scheduler.ts';
import { judge, percent, QueryScore } from './core/scoring.ts';
import { EndpointStats, type Outcome } from './core/stats.ts';
import { sentBody, type TagRecord, tagRecord, type WorkloadShape } from './core/workload.ts';
import { createHttpTarget, type HttpTarget } from './http/client.ts';
import { type ResolvedOptions, resolveOptions, type TesterOptionsInput } from './options.ts';
import { ENDPOINTS, type EndpointName, type EndpointReport, type Report } from './report/model.ts';
import { createProgressPrinter, progressLine } from './report/progress.ts';
import { writeReport } from './report/write.ts';

/** What a caller may add to the options: a way to stop early, and where the progress line goes. */
export interface RunHooks {
  /** Aborting stops sending; the answers in flight are still awaited and the report is made. */
  readonly signal?: AbortSignal;
  readonly progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Called once with the run's ledger (what became of each tag), e.g. to check the stored tags against it afterwards. */
  readonly onLedger?: (ledger: Ledger) => void;
}

/** Per tag, one profile query every this many tags, one aggregates query every that many (spec §4). */
const TAGS_PER_PROFILE_QUERY = 10;
const TAGS_PER_AGGREGATES_QUERY = 1000;

/**
 * Runs the reference workload against a deployment and scores it: tags are
 * sent open loop at `rate` per second for `durationS` seconds, one profile
 * query per 10 tags and one aggregates query per 1000, each in debug mode
 * with the answer the tester's oracle expects. Resolves with the report
 * (also written to `out` when given).
 *
 * @example const report = await runTester({ rate: 1000, durationS: 60, out: 'bench-results/tester' });
 */
export async function runTester(input: TesterOptionsInput = {}, hooks: RunHooks = {}): Promise<Report> {
  const o = resolveOptions(input);
  const clock = realClock;
  const shape: WorkloadShape = {
    seed: o.seed,
    startMs: parseEventTime(o.startTime) as number,
    cookies: o.cookies,
    cookieSkew: o.cookieSkew,
    cookieSalt: o.cookieSalt,
  };
  const ledger = new Ledger(shape);
  hooks.onLedger?.(ledger);
  const targets: Record<EndpointName, HttpTarget> = {
    tags: createHttpTarget(o.commandUrl),
    profiles: createHttpTarget(o.queryUrl),
    aggregates: createHttpTarget(o.queryUrl),
  };
  const limits = mapEndpoints(() => new InFlightLimit(o.maxInFlight));
  const stats = mapEndpoints(() => new EndpointStats());
  const scores = { profiles: new QueryScore(), aggregates: new QueryScore() };
  const settled = new SettleLog();
  const startedAt = new Date().toISOString();
  const t0 = clock.now();
  let maxLag = 0;

  const sendTag = (rec: TagRecord, now: number) => {
    const k = rec.index;
    if (!limits.tags.tryAcquire()) {
      stats.tags.onDropped();
      ledger.settle(k, TagState.absent, now);
      return;
    }
    stats.tags.onSent();
    void targets.tags.request('POST', '/user_tags', sentBody(rec), o.tagTimeoutMs, false).then((outcome) => {
      limits.tags.release();
      stats.tags.onOutcome(outcome);
      ledger.settle(k, tagStateOf(outcome), clock.now());
    });
  };

  const sendQuery = (kind: 'profiles' | 'aggregates', q: number, now: number) => {
    const freshness = kind === 'profiles' ? o.profileFreshnessMs : o.aggregatesFreshnessMs;
    const ctx = { ledger, horizon: settled.prefixAt(now - freshness), visibleBefore: now - freshness };
    const plan: PlannedQuery | undefined = kind === 'profiles' ? planProfileQuery(q, ctx) : planAggregatesQuery(q, ctx);
    const score = scores[kind];
    if (plan === undefined) {
      score.warmingUp++;
      return;
    }
    if (!limits[kind].tryAcquire()) {
      stats[kind].onDropped();
      return;
    }
    stats[kind].onSent();
    const expected = plan.expected;
    if (!expected.determined) score.onUnchecked(expected.reason);
    // Debug mode (spec §3.4): always POST; the body is the expected answer, empty when it cannot be known.
    const body = expected.determined ? JSON.stringify(expected.answer) : '';
    const timeout = kind === 'profiles' ? o.profileTimeoutMs : o.aggregatesTimeoutMs;
    void targets[kind].request('POST', plan.path, body, timeout, true).then((outcome) => {
      limits[kind].release();
      stats[kind].onOutcome(outcome);
      if (expected.determined) score.onVerdict(`POST ${plan.path}`, judge(expected.answer, outcome));
    });
  };

  const onSlot = (k: number, dueAt: number) => {
    const now = clock.now();
    maxLag = Math.max(maxLag, now - dueAt);
    settled.note(now, ledger.settledPrefix);
    const rec = tagRecord(shape, k);
    ledger.record(rec);
    sendTag(rec, now);
    if ((k + 1) % TAGS_PER_PROFILE_QUERY === 0) sendQuery('profiles', (k + 1) / TAGS_PER_PROFILE_QUERY - 1, now);
    if ((k + 1) % TAGS_PER_AGGREGATES_QUERY === 0) sendQuery('aggregates', (k + 1) / TAGS_PER_AGGREGATES_QUERY - 1, now);
  };

  const printer = o.progress === 'never' ? undefined : createProgressPrinter(hooks.progressStream ?? process.stderr);
  let second = 0;
  const everySecond = () => {
    second++;
    const now = clock.now();
    for (const e of ENDPOINTS) stats[e].rollSecond(second);
    settled.note(now, ledger.settledPrefix);
    const aggregatesHorizon = settled.prefixAt(now - o.aggregatesFreshnessMs);
    const oldestAsked =
      minuteOf(shape.startMs + aggregatesHorizon) - (AGGREGATES_LOOKBACK_MINUTES + AGGREGATES_MAX_MINUTES + 1) * MS_PER_MINUTE;
    ledger.release(now - Math.max(o.profileFreshnessMs, o.aggregatesFreshnessMs) - 1000, oldestAsked - shape.startMs);
    settled.forget(now - Math.max(o.profileFreshnessMs, o.aggregatesFreshnessMs) - 10_000);
    printer?.tick(progressLine({ elapsedS: (now - t0) / 1000, stats, scores, inFlight: mapEndpoints((e) => limits[e].inFlight) }), second);
  };
  const timer = setInterval(everySecond, 1000);

  let sendingSeconds = 0;
  try {
    await runOpenLoop({
      rate: o.rate,
      durationMs: o.durationS * 1000,
      clock,
      onSlot,
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
    });
    sendingSeconds = (clock.now() - t0) / 1000;
    await Promise.all(ENDPOINTS.map((e) => limits[e].idle()));
  } finally {
    clearInterval(timer);
    for (const e of ENDPOINTS) targets[e].close();
  }
  for (const e of ENDPOINTS) stats[e].rollSecond(second + 1);
  printer?.end();

  const totalSeconds = (clock.now() - t0) / 1000;
  const report = buildReport(o, {
    startedAt,
    sendingSeconds,
    totalSeconds,
    stoppedEarly: hooks.signal?.aborted === true,
    ledger,
    stats,
    scores,
    maxLag,
  });
  if (o.out !== undefined) await writeReport(o.out, report);
  return report;
}

/** 2xx: stored; 4xx or 503: certainly not stored (spec §3.1); anything else: unknown. */
export function tagStateOf(outcome: Outcome): TagState {
  if (outcome.kind !== 'answered') return TagState.uncertain;
  if (outcome.status >= 200 && outcome.status <= 299) return TagState.accepted;
  if ((outcome.status >= 400 && outcome.status <= 499) || outcome.status === 503) return TagState.absent;
  return TagState.uncertain;
}

function mapEndpoints<T>(make: (e: EndpointName) => T): Record<EndpointName, T> {
  return { tags: make('tags'), profiles: make('profiles'), aggregates: make('aggregates') };
}

/**
 * How far the answers had come at each moment: (clock time, how many tags
 * from the first had all been answered or dropped), sampled every few
 * milliseconds. A query with freshness bound F asks only about tags that had
 * all been answered F ago; which of them count as visible is then up to each
 * tag's own answer.
 */
class SettleLog {
  private times: number[] = [];
  private prefixes: number[] = [];
  private first = 0;

  note(now: number, settledPrefix: number): void {
    const last = this.times.length - 1;
    if (last >= this.first && now - (this.times[last] as number) < 5) return;
    this.times.push(now);
    this.prefixes.push(settledPrefix);
  }

  /** How many tags from the first had surely all been answered at clock time `at`. */
  prefixAt(at: number): number {
    let lo = this.first;
    let hi = this.times.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.times[mid] as number) <= at) {
        found = this.prefixes[mid] as number;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops samples before `before` (keeping the last of them, which still answers for it). */
  forget(before: number): void {
    while (this.first + 1 < this.times.length && (this.times[this.first + 1] as number) <= before) this.first++;
    if (this.first > 100_000) {
      this.times = this.times.slice(this.first);
      this.prefixes = this.prefixes.slice(this.first);
      this.first = 0;
    }
  }
}

interface RunState {
  readonly startedAt: string;
  readonly sendingSeconds: number;
  readonly totalSeconds: number;
  readonly stoppedEarly: boolean;
  readonly ledger: Ledger;
  readonly stats: Readonly<Record<EndpointName, EndpointStats>>;
  readonly scores: { readonly profiles: QueryScore; readonly aggregates: QueryScore };
  readonly maxLag: number;
}

function buildReport(o: ResolvedOptions, s: RunState): Report {
  const { progress: _progress, ...options } = o;
  const endpoint = (e: EndpointName): EndpointReport => {
    const st = s.stats[e];
    return {
      issued: st.issued,
      sent: st.sent,
      dropped: st.dropped,
      ok: st.ok,
      okPercent: percent(st.ok, st.issued),
      non2xx: st.non2xx,
      statuses: Object.fromEntries([...st.statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v])),
      timeouts: st.timeouts,
      errors: st.errors,
      sentPerSecond: s.sendingSeconds > 0 ? Math.round((st.sent / s.sendingSeconds) * 10) / 10 : 0,
      latencyMs: st.latency.summary(),
      over200Ms: st.latency.countAbove(200),
      series: st.series,
    };
  };
  const tags = s.ledger.count;
  const startMs = s.ledger.shape.startMs;
  return {
    tester: '@usertags/tester',
    startedAt: s.startedAt,
    options,
    sendingSeconds: round(s.sendingSeconds),
    totalSeconds: round(s.totalSeconds),
    stoppedEarly: s.stoppedEarly,
    workload: {
      tags,
      firstEventTime: tags === 0 ? null : new Date(startMs).toISOString(),
      lastEventTime: tags === 0 ? null : new Date(startMs + tags - 1).toISOString(),
      maxSchedulerLagMs: round(s.maxLag),
    },
    endpoints: mapEndpoints(endpoint),
    correctness: { profiles: s.scores.profiles.summary(), aggregates: s.scores.aggregates.summary() },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
