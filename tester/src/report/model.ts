import type { QueryScoreSummary } from '../core/scoring.ts';
import type { LatencySummary, SecondPoint } from '../core/stats.ts';
import type { ResolvedOptions } from '../options.ts';

/** The endpoints the tester drives. */
export const ENDPOINTS = ['tags', 'profiles', 'aggregates'] as const;
export type EndpointName = (typeof ENDPOINTS)[number];

/** What one endpoint went through. */
export interface EndpointReport {
  /** Requests the workload called for: sent + dropped. */
  readonly issued: number;
  readonly sent: number;
  /** Not sent because the endpoint already had `maxInFlight` requests in flight. */
  readonly dropped: number;
  /** Answered 2xx. */
  readonly ok: number;
  /** `ok / issued` in percent; null when nothing was issued. */
  readonly okPercent: number | null;
  readonly non2xx: number;
  /** Answers by status code. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly timeouts: number;
  /** Connection failures. */
  readonly errors: number;
  /** Requests sent per second of the sending phase. */
  readonly sentPerSecond: number;
  /** Latency of the answered requests (timeouts and failures excluded). */
  readonly latencyMs: LatencySummary;
  /** Answered requests that took longer than 200 ms (the reference workload's budget), whatever the run's own budget. */
  readonly over200Ms: number;
  /** One point per second of the run. */
  readonly series: readonly SecondPoint[];
}

/** The result of a run: what runTester resolves with and report.json holds. */
export interface Report {
  readonly tester: '@usertags/tester';
  /** Wall-clock time the run started. */
  readonly startedAt: string;
  readonly options: Omit<ResolvedOptions, 'progress'>;
  /** Seconds spent sending (shorter than asked when the run was stopped). */
  readonly sendingSeconds: number;
  /** Seconds until the last answer arrived. */
  readonly totalSeconds: number;
  readonly stoppedEarly: boolean;
  readonly workload: {
    readonly tags: number;
    readonly firstEventTime: string | null;
    readonly lastEventTime: string | null;
    /** The latest a slot was issued after its due time: a large value means the tester itself could not keep the rate. */
    readonly maxSchedulerLagMs: number;
  };
  readonly endpoints: Readonly<Record<EndpointName, EndpointReport>>;
  readonly correctness: {
    readonly profiles: QueryScoreSummary;
    readonly aggregates: QueryScoreSummary;
  };
}
