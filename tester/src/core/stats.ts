/** How one request ended, as the client saw it. */
export interface Outcome {
  /** `answered` (any HTTP status), `timeout` (no full answer within the budget) or `error` (connection failed). */
  readonly kind: 'answered' | 'timeout' | 'error';
  /** The HTTP status, 0 when there was no answer. */
  readonly status: number;
  /** The answer's body (empty when not read). */
  readonly body: string;
  /** From sending to the end of the answer (or the failure). */
  readonly latencyMs: number;
  readonly error?: string;
}

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Every value kept (4 bytes each), so the percentiles are exact. */
export class LatencyLog {
  private values = new Float32Array(1024);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float32Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** How many took longer than `ms`. */
  countAbove(ms: number): number {
    let n = 0;
    for (let i = 0; i < this.n; i++) if ((this.values[i] as number) > ms) n++;
    return n;
  }

  summary(): LatencySummary {
    return summarize(this.values.subarray(0, this.n));
  }

  clear(): void {
    this.n = 0;
  }
}

/** Nearest-rank percentiles of a list of latencies. */
export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    count: n,
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    max: round(sorted[n - 1] as number),
    mean: round(sum / n),
  };
}

/** One second of one endpoint. */
export interface SecondPoint {
  /** Seconds since the start of the run (the end of this second). */
  readonly t: number;
  readonly sent: number;
  readonly ok: number;
  /** Answered non-2xx, timed out or failed. */
  readonly failed: number;
  readonly dropped: number;
  /** Latency of the requests that ended this second; null when none did. */
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** Counts, latencies and a per-second series for one endpoint. */
export class EndpointStats {
  issued = 0;
  sent = 0;
  dropped = 0;
  ok = 0;
  timeouts = 0;
  errors = 0;
  readonly statuses = new Map<number, number>();
  readonly latency = new LatencyLog();
  readonly series: SecondPoint[] = [];
  private second = { sent: 0, ok: 0, failed: 0, dropped: 0 };
  private readonly secondLatency = new LatencyLog();

  onDropped(): void {
    this.issued++;
    this.dropped++;
    this.second.dropped++;
  }

  onSent(): void {
    this.issued++;
    this.sent++;
    this.second.sent++;
  }

  onOutcome(outcome: Outcome): void {
    if (outcome.kind === 'timeout') this.timeouts++;
    else if (outcome.kind === 'error') this.errors++;
    else {
      this.statuses.set(outcome.status, (this.statuses.get(outcome.status) ?? 0) + 1);
      this.latency.add(outcome.latencyMs);
      this.secondLatency.add(outcome.latencyMs);
    }
    if (isOk(outcome)) {
      this.ok++;
      this.second.ok++;
    } else this.second.failed++;
  }

  /** Answered with a status outside 2xx. */
  get non2xx(): number {
    let n = 0;
    for (const [status, count] of this.statuses) if (status < 200 || status > 299) n += count;
    return n;
  }

  /** Closes the current second of the series. */
  rollSecond(t: number): void {
    const s = this.secondLatency.count === 0 ? null : this.secondLatency.summary();
    this.series.push({ t, ...this.second, p50: s?.p50 ?? null, p99: s?.p99 ?? null, max: s?.max ?? null });
    this.second = { sent: 0, ok: 0, failed: 0, dropped: 0 };
    this.secondLatency.clear();
  }
}

export function isOk(outcome: Outcome): boolean {
  return outcome.kind === 'answered' && outcome.status >= 200 && outcome.status <= 299;
}
