import { Agent, request } from 'node:http';
import { quantile } from './support.ts';

export interface ProbeTarget {
  readonly label: string;
  /** The path of the i-th request sent to this target. */
  readonly path: (i: number) => string;
}

export interface ProbeResult {
  label: string;
  rate: number;
  /** Seconds this target was driven (its share of the run). */
  seconds: number;
  /** Requests answered 2xx. */
  ok: number;
  /** Requests answered otherwise, failed or timed out (10 s). */
  failed: number;
  /** Latency from each request's scheduled send time to the end of its answer, ms (performance.now, sub-millisecond). */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** p99 of how late the probe itself sent a request after its scheduled time, ms: the probe's (and the machine's) share. */
  sendLagP99: number;
}

/**
 * Drives GETs on `url` open loop at `rate` requests/s for `seconds` per
 * target: request k is due at start + k / rate s whether or not earlier ones
 * have been answered, so a stalled server meets a growing queue instead of a
 * slowed-down client, and each latency is measured from the due time, not from
 * the send. The targets take turns in blocks of `blockSeconds` within one
 * schedule, so a baseline target (GET /health) sees the same minute of machine
 * noise as the one under test. Keep-alive connections, as many as are in flight.
 */
export async function probe(options: {
  url: string;
  rate: number;
  seconds: number;
  targets: readonly ProbeTarget[];
  blockSeconds?: number;
}): Promise<ProbeResult[]> {
  const { hostname, port } = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const n = options.targets.length;
  const total = Math.round(options.rate * options.seconds) * n;
  const interval = 1000 / options.rate;
  const perBlock = Math.max(1, Math.round(options.rate * (options.blockSeconds ?? 5)));
  const samples = options.targets.map(() => ({ latencies: [] as number[], lags: [] as number[], ok: 0, failed: 0, sent: 0 }));
  let settled = 0;
  let sent = 0;
  const start = performance.now() + 10;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        const due = start + sent * interval;
        const s = samples[Math.floor(sent / perBlock) % n] as (typeof samples)[number];
        const path = (options.targets[Math.floor(sent / perBlock) % n] as ProbeTarget).path(s.sent++);
        s.lags.push(now - due);
        const settle = (success: boolean) => {
          s.latencies.push(performance.now() - due);
          if (success) s.ok++;
          else s.failed++;
          if (++settled === total) done();
        };
        const req = request({ agent, hostname, port, path, timeout: 10_000 }, (res) => {
          res.on('data', () => {});
          res.on('end', () => settle((res.statusCode ?? 500) < 300));
          res.on('error', () => settle(false));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', () => settle(false));
        req.end();
        sent++;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    setTimeout(tick, 10);
  });
  agent.destroy();
  const ms = (x: number) => Number(x.toFixed(2));
  return options.targets.map((target, t) => {
    const s = samples[t] as (typeof samples)[number];
    const result: ProbeResult = {
      label: target.label,
      rate: options.rate,
      seconds: options.seconds,
      ok: s.ok,
      failed: s.failed,
      p50: ms(quantile(s.latencies, 0.5)),
      p99: ms(quantile(s.latencies, 0.99)),
      p999: ms(quantile(s.latencies, 0.999)),
      max: ms(quantile(s.latencies, 1)),
      sendLagP99: ms(quantile(s.lags, 0.99)),
    };
    console.log(
      `${target.label.padEnd(24)} ${options.rate}/s  p50 ${result.p50} ms  p99 ${result.p99} ms  p99.9 ${result.p999} ms  max ${result.max} ms  send lag p99 ${result.sendLagP99} ms  failed ${s.failed}`,
    );
    return result;
  });
}
