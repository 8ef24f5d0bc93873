// What a drill watches while it runs, besides the tester's own figures:
// - freshness probes: one tag a second for a cookie and an origin of the
//   drill's own (event times three hours back, outside every tester range),
//   and how long each takes to show in a profile and in the aggregates;
// - consumer lag per projection, from the projectors' own /metrics;
// - the alerts Prometheus fires.

const PROBE_BACK_MS = 3 * 3600_000;
const MINUTE = 60_000;

export interface ProbeResult {
  /** When the probe was acknowledged (ms since the epoch), undefined when its POST failed. */
  ackedAt: number | undefined;
  /** When it showed in the profile / the aggregates; undefined when it never did while watched. */
  profileAt: number | undefined;
  aggregatesAt: number | undefined;
}

export interface Observation {
  readonly probes: ProbeResult[];
  /** Per projection, the highest lag seen (records), and the series (t ms, lag). */
  readonly peakLag: Record<string, number>;
  readonly lagSeries: Array<{ readonly t: number; readonly lag: Record<string, number> }>;
  /** Alert name → when Prometheus first reported it firing. */
  readonly firing: Map<string, number>;
}

export interface ObserverOptions {
  readonly commandUrl: string;
  readonly queryUrl: string;
  readonly prometheusUrl: string;
  readonly projectorPorts: readonly number[];
  /** Unique per drill and run: the probes' cookie and origin. */
  readonly probeName: string;
  /** The drill's first event time (the probes' times are three hours before it). */
  readonly startMs: number;
  /** When the drill began, by the clock: an alert that became active before it belongs to an earlier drill. */
  readonly since: number;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function get(url: string, timeoutMs = 2000): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** Starts watching; `stop()` ends the probes (the lag and alerts go on until `close()`). */
export function observe(o: ObserverOptions): { observation: Observation; stopProbes(): void; close(): Promise<void> } {
  const observation: Observation = { probes: [], peakLag: {}, lagSeries: [], firing: new Map() };
  let probing = true;
  let open = true;
  const probeBase = Math.floor((o.startMs - PROBE_BACK_MS) / MINUTE) * MINUTE;
  const cookie = encodeURIComponent(o.probeName);
  const range = (from: number, to: number, millis: boolean) => {
    const f = (ms: number) => new Date(ms).toISOString().slice(0, millis ? 23 : 19);
    return `${f(from)}_${f(to)}`;
  };

  const sendProbes = async () => {
    for (let n = 0; probing; n++) {
      const due = Date.now() + 1000;
      const result: ProbeResult = { ackedAt: undefined, profileAt: undefined, aggregatesAt: undefined };
      observation.probes.push(result);
      const tag = {
        time: new Date(probeBase + n * 1000).toISOString(),
        cookie: o.probeName,
        country: 'PL',
        device: 'PC',
        action: 'VIEW',
        origin: o.probeName,
        product_info: { product_id: n, brand_id: 'probe', category_id: 'probe', price: 1 },
      };
      try {
        const res = await fetch(`${o.commandUrl}/user_tags`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(tag),
          signal: AbortSignal.timeout(2000),
        });
        await res.arrayBuffer();
        if (res.ok) result.ackedAt = Date.now();
      } catch {
        // not acknowledged: this probe is left out of the freshness figures
      }
      await pause(Math.max(0, due - Date.now()));
    }
  };

  // The newest probe in the profile (limit 1) and how many are counted in the aggregates.
  const watchProfiles = async () => {
    while (open) {
      const at = Date.now();
      const answer = await get(`${o.queryUrl}/user_profiles/${cookie}?time_range=${range(probeBase, probeBase + 3600_000, true)}&limit=1`);
      if (answer?.status === 200) {
        const newest = (JSON.parse(answer.body) as { views: Array<{ time: string }> }).views[0];
        if (newest !== undefined) {
          const n = (Date.parse(newest.time) - probeBase) / 1000;
          for (let k = 0; k <= n && k < observation.probes.length; k++) {
            const p = observation.probes[k] as ProbeResult;
            if (p.ackedAt !== undefined && p.profileAt === undefined) p.profileAt = at;
          }
        }
      }
      await pause(250);
    }
  };
  const watchAggregates = async () => {
    while (open) {
      const at = Date.now();
      const answer = await get(
        `${o.queryUrl}/aggregates?time_range=${range(probeBase, probeBase + 10 * MINUTE, false)}&action=VIEW&origin=${cookie}&aggregates=count`,
        5000,
      );
      if (answer?.status === 200) {
        const rows = (JSON.parse(answer.body) as { rows: string[][] }).rows;
        let visible = rows.reduce((sum, row) => sum + Number(row[row.length - 1]), 0);
        // The k-th acknowledged probe is visible once k are counted (they go to one partition, in order).
        for (const p of observation.probes) {
          if (p.ackedAt === undefined) continue;
          if (visible-- <= 0) break;
          if (p.aggregatesAt === undefined) p.aggregatesAt = at;
        }
      }
      await pause(1000);
    }
  };

  const watchLag = async () => {
    while (open) {
      const perPartition = new Map<string, number>();
      await Promise.all(
        o.projectorPorts.map(async (port) => {
          const answer = await get(`http://127.0.0.1:${port}/metrics`);
          for (const line of answer?.body.split('\n') ?? []) {
            if (!line.startsWith('projector_consumer_lag{')) continue;
            const projection = /projection="([^"]*)"/.exec(line)?.[1];
            const partition = /partition="([^"]*)"/.exec(line)?.[1];
            const value = Number(line.slice(line.lastIndexOf(' ') + 1));
            if (projection === undefined || partition === undefined || !Number.isFinite(value)) continue;
            const key = `${projection}/${partition}`;
            perPartition.set(key, Math.max(perPartition.get(key) ?? 0, value));
          }
        }),
      );
      const lag: Record<string, number> = {};
      for (const [key, value] of perPartition) {
        const projection = key.slice(0, key.indexOf('/'));
        lag[projection] = (lag[projection] ?? 0) + value;
      }
      observation.lagSeries.push({ t: Date.now(), lag });
      for (const [projection, value] of Object.entries(lag)) {
        observation.peakLag[projection] = Math.max(observation.peakLag[projection] ?? 0, value);
      }
      await pause(1000);
    }
  };

  const watchAlerts = async () => {
    while (open) {
      const answer = await get(`${o.prometheusUrl}/api/v1/alerts`);
      if (answer?.status === 200) {
        type Alert = { state: string; activeAt: string; labels: { alertname: string } };
        const alerts = (JSON.parse(answer.body) as { data: { alerts: Alert[] } }).data.alerts;
        for (const a of alerts) {
          // An alert still firing from an earlier drill is not this drill's.
          if (a.state !== 'firing' || Date.parse(a.activeAt) < o.since || observation.firing.has(a.labels.alertname)) continue;
          observation.firing.set(a.labels.alertname, Date.now());
        }
      }
      await pause(5000);
    }
  };

  const loops = [sendProbes(), watchProfiles(), watchAggregates(), watchLag(), watchAlerts()];
  return {
    observation,
    stopProbes: () => {
      probing = false;
    },
    close: async () => {
      probing = false;
      open = false;
      await Promise.all(loops);
    },
  };
}

/** Latest lag per projection (undefined before the first sample). */
export function currentLag(o: Observation): Record<string, number> | undefined {
  return o.lagSeries[o.lagSeries.length - 1]?.lag;
}

export interface Freshness {
  /** The longest any acknowledged probe took to show (ms); Infinity when one never showed. */
  readonly worstMs: number;
  /** From the end of the fault until every later probe showed within the budget (ms; 0 when none was late after it). */
  readonly backWithinBudgetMs: number;
}

/** Freshness of the probes in one read model against its budget. */
export function freshness(
  probes: readonly ProbeResult[],
  which: 'profileAt' | 'aggregatesAt',
  budgetMs: number,
  faultEndMs: number,
): Freshness {
  let worst = 0;
  let lastLateAck = Number.NEGATIVE_INFINITY;
  for (const p of probes) {
    if (p.ackedAt === undefined) continue;
    const seen = p[which];
    const took = seen === undefined ? Number.POSITIVE_INFINITY : seen - p.ackedAt;
    worst = Math.max(worst, took);
    if (took > budgetMs) lastLateAck = Math.max(lastLateAck, p.ackedAt);
  }
  return { worstMs: worst, backWithinBudgetMs: Math.max(0, lastLateAck + 1000 - faultEndMs) };
}
