// A closed-loop load generator in a process of its own (support.ts `driveGets` starts it through `runJob`): GETs
// the job's paths in turn on its url with autocannon, `connections` at a time for `seconds`, and prints what it saw.
import autocannon from 'autocannon';
import { type ClosedLoopResult, jobOfStdin } from './support.ts';

const job = await jobOfStdin<{ url: string; paths: string[]; seconds: number; connections: number }>();
let i = 0;
const result = await autocannon({
  url: job.url,
  connections: job.connections,
  duration: job.seconds,
  timeout: 10,
  requests: [
    {
      setupRequest: (req) => {
        req.path = job.paths[i++ % job.paths.length] as string;
        return req;
      },
    },
  ],
});
const answer: ClosedLoopResult = {
  ok: result['2xx'],
  p50: result.latency.p50,
  p99: result.latency.p99,
  max: result.latency.max,
  failed: result.non2xx + result.errors + result.timeouts,
  cpuSeconds: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage()),
};
process.stdout.write(`${JSON.stringify(answer)}\n`);
