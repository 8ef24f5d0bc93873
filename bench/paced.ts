// A paced open-loop load generator in a process of its own (support.ts `drive` starts it through `runJob` when a
// rate is given): POSTs the job's bodies in turn to its url, request k due k / rate s after the start whatever
// became of the earlier ones, with the tester's scheduler and keep-alive client, and prints what it saw.
//
// Not autocannon's `overallRate`: that gives each connection a quota per second, which it sends back to back at
// the start of the second and then waits — at 4,000/s over 64 connections the whole second's tags arrive in about
// a fifth of it. A server answering bursts wakes once for many requests; requests that arrive one at a time, as
// independent clients send them, each wake it, and cost it 1.5–2 times the CPU (docs/benchmarks.md, "Reading the
// ingest numbers").
import { createHttpTarget, InFlightLimit, type Outcome, realClock, runOpenLoop } from '@usertags/tester';
import { jobOfStdin, type LoadResult, quantile } from './support.ts';

interface PacedJob {
  label: string;
  url: string;
  bodies: string[];
  seconds: number;
  rate: number;
}

/** Requests in flight at most; past it a request is not sent and counts as an error (a dropped one). */
const MAX_IN_FLIGHT = 2000;
const TIMEOUT_MS = 10_000;

const job = await jobOfStdin<PacedJob>();
const target = createHttpTarget(job.url);
const limit = new InFlightLimit(MAX_IN_FLIGHT);
const latencies: number[] = [];
let ok = 0;
let non2xx = 0;
let errors = 0;
let timeouts = 0;
const count = (outcome: Outcome) => {
  if (outcome.kind === 'answered') {
    latencies.push(outcome.latencyMs);
    if (outcome.status >= 200 && outcome.status < 300) ok++;
    else non2xx++;
  } else if (outcome.kind === 'timeout') timeouts++;
  else errors++;
};
await runOpenLoop({
  rate: job.rate,
  durationMs: job.seconds * 1000,
  clock: realClock,
  onSlot: (slot) => {
    if (!limit.tryAcquire()) {
      errors++;
      return;
    }
    void target.request('POST', '', job.bodies[slot % job.bodies.length] as string, TIMEOUT_MS, false).then((outcome) => {
      count(outcome);
      limit.release();
    });
  },
});
await limit.idle();
target.close();
const ms = (x: number) => Number(x.toFixed(2));
const result: LoadResult = {
  label: job.label,
  seconds: job.seconds,
  ok,
  non2xx,
  errors,
  timeouts,
  okPerSecond: Math.round(ok / job.seconds),
  p50: ms(quantile(latencies, 0.5)),
  p99: ms(quantile(latencies, 0.99)),
  p999: ms(quantile(latencies, 0.999)),
  max: ms(latencies.reduce((a, b) => Math.max(a, b), 0)),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
