import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { jobOfStdin, quantile, runJob } from './support.ts';

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

interface ProbeJob {
  url: string;
  rate: number;
  seconds: number;
  blockSeconds: number;
  targets: Array<{ label: string; paths: string[] }>;
}

/**
 * How long before a request is due the probe stops sleeping and spins: Node's timers fire up to a millisecond late.
 * Only at rates of up to 200/s: above that the spinning would take most of a core from the programs measured.
 */
const SPIN_MS = 2;
const SPIN_UP_TO_RATE = 200;

/**
 * Drives GETs on `url` open loop at `rate` requests/s for `seconds` per
 * target: request k is due at start + k / rate s whether or not earlier ones
 * have been answered, so a stalled server meets a growing queue instead of a
 * slowed-down client, and each latency is measured from the due time, not from
 * the send. The targets take turns in blocks of `blockSeconds` within one
 * schedule, so a baseline target (GET /health) sees the same minute of machine
 * noise as the one under test. Keep-alive connections, as many as are in flight.
 *
 * The probe runs in a process of its own (a fresh, small heap, nothing else on
 * its loop: not the bench's autocannon runs or its children's output), sleeps
 * until SPIN_MS before each due time and (at low rates) spins the rest (turn after turn of
 * its loop, so that answers are still read as they come), so that its own
 * lateness is not counted as the server's.
 */
export async function probe(options: {
  url: string;
  rate: number;
  seconds: number;
  targets: readonly ProbeTarget[];
  blockSeconds?: number;
}): Promise<ProbeResult[]> {
  const perTarget = Math.round(options.rate * options.seconds);
  const job: ProbeJob = {
    url: options.url,
    rate: options.rate,
    seconds: options.seconds,
    blockSeconds: options.blockSeconds ?? 5,
    targets: options.targets.map((t) => ({ label: t.label, paths: Array.from({ length: perTarget }, (_, i) => t.path(i)) })),
  };
  const results = await runJob<ProbeResult[]>('bench/probe.ts', job);
  for (const r of results)
    console.log(
      `${r.label.padEnd(24)} ${r.rate}/s  p50 ${r.p50} ms  p99 ${r.p99} ms  p99.9 ${r.p999} ms  max ${r.max} ms  send lag p99 ${r.sendLagP99} ms  failed ${r.failed}`,
    );
  return results;
}

async function run(job: ProbeJob): Promise<ProbeResult[]> {
  const { hostname, port } = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const n = job.targets.length;
  const perTarget = Math.round(job.rate * job.seconds);
  const total = perTarget * n;
  const interval = 1000 / job.rate;
  const perBlock = Math.max(1, Math.round(job.rate * job.blockSeconds));
  const samples = job.targets.map(() => ({ latencies: [] as number[], lags: [] as number[], ok: 0, failed: 0, sent: 0 }));
  let settled = 0;
  let sent = 0;
  const start = performance.now() + 50;
  const dueOf = (k: number) => start + k * interval;
  await new Promise<void>((done) => {
    const send = () => {
      const now = performance.now();
      while (sent < total && dueOf(sent) <= now) {
        const due = dueOf(sent);
        const t = Math.floor(sent / perBlock) % n;
        const s = samples[t] as (typeof samples)[number];
        const paths = (job.targets[t] as ProbeJob['targets'][number]).paths;
        const path = paths[s.sent++ % paths.length] as string;
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
    };
    const spin = job.rate <= SPIN_UP_TO_RATE;
    const tick = () => {
      send();
      if (sent >= total) return;
      const left = dueOf(sent) - performance.now();
      if (!spin) setTimeout(tick, Math.max(0, left));
      else if (left > SPIN_MS) setTimeout(tick, left - SPIN_MS);
      // Spin through the loop, not inside one turn of it: answers that arrive meanwhile are still read at once.
      else setImmediate(tick);
    };
    setTimeout(tick, 50);
  });
  agent.destroy();
  const ms = (x: number) => Number(x.toFixed(2));
  return job.targets.map((target, t) => {
    const s = samples[t] as (typeof samples)[number];
    return {
      label: target.label,
      rate: job.rate,
      seconds: job.seconds,
      ok: s.ok,
      failed: s.failed,
      p50: ms(quantile(s.latencies, 0.5)),
      p99: ms(quantile(s.latencies, 0.99)),
      p999: ms(quantile(s.latencies, 0.999)),
      max: ms(quantile(s.latencies, 1)),
      sendLagP99: ms(quantile(s.lags, 0.99)),
    };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(await run(await jobOfStdin<ProbeJob>()))}\n`);
}
