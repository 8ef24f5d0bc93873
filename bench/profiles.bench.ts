// bench:profiles — the profile read model (the embedded SQLite store, or Aerospike when AEROSPIKE_HOSTS is set):
//  1. projector throughput: events/s applied from a pre-filled topic, next to
//     the rate at which the topic is merely read and decoded;
//  2. /user_profiles latency at 100 and at 1,000 queries/s over a store of BENCH_COOKIES cookies, BENCH_SECONDS
//     each, next to GET /health on the same server at the same rate, interleaved (bench/probe.ts: open loop,
//     latency from each request's scheduled send time, sub-millisecond);
//  3. /user_profiles at max rate (autocannon, closed loop, 32 connections, BENCH_MAX_SECONDS per run, BENCH_MAX_ROUNDS
//     rounds) next to the bare ceiling: a bare node:http server sending the bytes the query API answered, same paths;
//  4. freshness at 1000 tags/s: time from 204 to being visible in the profile.
//
//   ./run.sh bench:profiles      (BENCH_EVENTS=1000000 BENCH_COOKIES=100000 BENCH_SECONDS=60 BENCH_FRESH_SECONDS=20
//                                 BENCH_MAX_SECONDS=10 BENCH_MAX_ROUNDS=2)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postTag, referenceTags } from '@usertags/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { type ProbeResult, probe } from './probe.ts';
import {
  driveGets,
  ensureStack,
  fillTopic,
  type GetLoadResult,
  machineLine,
  quantile,
  readOnlyRate,
  startBareCopy,
  startProgram,
  writeReport,
} from './support.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const COOKIES = Number(process.env.BENCH_COOKIES ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const FRESH_SECONDS = Number(process.env.BENCH_FRESH_SECONDS ?? 20);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);
const MAX_ROUNDS = Number(process.env.BENCH_MAX_ROUNDS ?? 2);
const START = Date.UTC(2022, 2, 1, 0, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 2) => Number(n.toFixed(d));

ensureStack();
console.log(`bench:profiles on ${machineLine()}: ${EVENTS.toLocaleString('en')} events over ${COOKIES.toLocaleString('en')} cookies`);
const kafka = new Kafka({ clientId: 'bench-profiles', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
const topic = `bench-profiles-${Date.now()}`;
const dir = mkdtempSync(join(tmpdir(), 'bench-profiles-'));
const storePath = join(dir, 'profiles.sqlite');

const filled = await fillTopic(kafka, topic, referenceTags(2, START, EVENTS, COOKIES));
console.log(`filled ${topic} in ${filled.seconds.toFixed(1)} s`);
const readRate = await readOnlyRate(kafka, topic, EVENTS);
console.log(`baseline: read + decode ${Math.round(readRate).toLocaleString('en')} events/s`);

// --- projector throughput -------------------------------------------------
const group = `bench-${topic}`;
const projector = await startProgram('projector/src/main.ts', {
  PORT: '0',
  KAFKA_TOPIC: topic,
  KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
  PROJECTIONS: 'profiles',
  PROFILES_GROUP_ID: group,
  PROFILE_STORE_PATH: storePath,
});
const admin = kafka.admin();
await admin.connect();
const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
let first = 0;
let firstApplied = 0;
for (;;) {
  const committed = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
  const applied = committed.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  if (applied > 0 && first === 0) {
    first = performance.now();
    firstApplied = applied;
  }
  if ([...ends].every(([p, end]) => Number(committed.find((c) => c.partition === p)?.offset ?? -1) >= end)) break;
  await sleep(250);
}
const projectRate = (EVENTS - firstApplied) / ((performance.now() - first) / 1000);
console.log(`projector: ${Math.round(projectRate).toLocaleString('en')} events/s applied`);

// --- query latency --------------------------------------------------------
const query = await startProgram('query-api/src/main.ts', { PORT: '0', PROFILE_STORE_PATH: storePath });
const range = `${new Date(START).toISOString().slice(0, 23)}_${new Date(START + EVENTS + 1000).toISOString().slice(0, 23)}`;
const profilePath = (i: number) => `/user_profiles/cookie-${(i * 7919) % COOKIES}?time_range=${range}`;
const health = { label: 'GET /health (baseline)', path: () => '/health' };
const profiles = { label: 'GET /user_profiles', path: profilePath };
await probe({ url: query.url, rate: 200, seconds: 10, targets: [profiles] });
const runs = [];
for (const rate of [100, 1000]) {
  // One open-loop schedule per rate; the two targets take turns every 5 s, so both see the same noise.
  const [h, p] = await probe({ url: query.url, rate, seconds: SECONDS, targets: [health, profiles] });
  runs.push({ health: h as ProbeResult, profile: p as ProbeResult });
}

// --- max rate against the bare ceiling --------------------------------------
// The same paths at max rate (autocannon, closed loop) on the query API and on a bare node:http server sending the
// bytes the query API answered for each, taking turns, BENCH_MAX_ROUNDS rounds.
const ceilingPaths = Array.from({ length: Math.min(COOKIES, 2000) }, (_, i) => profilePath(i));
const { server: bare, answers } = await startBareCopy(query.url, ceilingPaths, join(dir, 'answers.json'));
const answerKiB = round([...answers.values()].reduce((n, b) => n + b.length, 0) / answers.size / 1024, 1);
const maxRuns: Array<{ arm: 'api' | 'bare' } & GetLoadResult> = [];
for (let r = 0; r < MAX_ROUNDS; r++) {
  for (const arm of r % 2 === 0 ? (['api', 'bare'] as const) : (['bare', 'api'] as const)) {
    const target = arm === 'api' ? query : bare;
    const run = { arm, ...(await driveGets(target.url, ceilingPaths, MAX_SECONDS, 32, target.child.pid)) };
    maxRuns.push(run);
    console.log(`max rate, ${arm}: ${run.perSecond}/s  p50 ${run.p50} ms  p99 ${run.p99} ms  max ${run.max} ms  failed ${run.failed}`);
  }
}
await bare.stop();
const meanOf = (arm: 'api' | 'bare', key: 'perSecond' | 'p99') => {
  const xs = maxRuns.filter((m) => m.arm === arm).map((m) => m[key]);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
const maxRate = {
  answerKiB,
  api: Math.round(meanOf('api', 'perSecond')),
  bare: Math.round(meanOf('bare', 'perSecond')),
  apiP99: round(meanOf('api', 'p99'), 1),
  bareP99: round(meanOf('bare', 'p99'), 1),
  apiMax: Math.max(...maxRuns.filter((m) => m.arm === 'api').map((m) => m.max)),
  failed: maxRuns.reduce((n, m) => n + m.failed, 0),
};

// --- freshness at 1000 tags/s ---------------------------------------------
const api = await startProgram('command-api/src/main.ts', { PORT: '0', HOST: '127.0.0.1', KAFKA_TOPIC: topic });
const cookie = `fresh-${Date.now()}`;
const freshStart = START + EVENTS + 60_000;
const acked: number[] = [];
let sent = 0;
let newestVisible = -1;
const seenAt: number[] = [];
let polling = true;
const poller = (async () => {
  const freshRange = `${new Date(freshStart).toISOString().slice(0, 23)}_${new Date(freshStart + 3_600_000).toISOString().slice(0, 23)}`;
  while (polling || newestVisible < sent - 1) {
    const res = await fetch(`${query.url}/user_profiles/${cookie}?time_range=${freshRange}&limit=1`);
    const body = (await res.json()) as { views: Array<{ time: string }>; buys: Array<{ time: string }> };
    const now = performance.now();
    const newest = Math.max(-1, ...[...body.views, ...body.buys].map((t) => Date.parse(t.time) - freshStart));
    for (let k = newestVisible + 1; k <= newest; k++) seenAt[k] = now;
    newestVisible = Math.max(newestVisible, newest);
    if (!polling && newestVisible >= sent - 1) break;
    await sleep(10);
  }
})();
{
  const t0 = performance.now();
  const total = FRESH_SECONDS * 1000;
  // One cookie, so its tags stay in order in one partition; sent one after another at up to 1000/s.
  while (sent < total) {
    const due = Math.min(total, Math.floor(performance.now() - t0));
    while (sent < due) {
      const i = sent++;
      const res = await postTag(api.url, {
        time: new Date(freshStart + i).toISOString(),
        cookie,
        country: 'PL',
        device: 'PC',
        action: 'VIEW',
        origin: 'o',
        product_info: { product_id: 'p', brand_id: 'b', category_id: 'c', price: 1 },
      });
      await res.arrayBuffer();
      if (res.status === 204) acked[i] = performance.now();
    }
    await sleep(1);
  }
}
polling = false;
await Promise.race([poller, sleep(30_000)]);
const lags = acked.map((t, k) => (seenAt[k] ?? Number.NaN) - t).filter((x) => Number.isFinite(x));
const fresh = {
  tags: lags.length,
  p50: round(quantile(lags, 0.5) / 1000),
  p99: round(quantile(lags, 0.99) / 1000),
  max: round(Math.max(...lags) / 1000),
};
console.log(`freshness over ${fresh.tags} tags: p50 ${fresh.p50} s  p99 ${fresh.p99} s  max ${fresh.max} s`);

await Promise.all([api.stop(), query.stop(), projector.stop()]);
await admin.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
await admin.disconnect();
rmSync(dir, { recursive: true, force: true });

const rows = runs
  .map(
    ({ health, profile }) =>
      `| ${profile.rate.toLocaleString('en')}/s | ${profile.p50} / ${profile.p99} / ${profile.p999} | ${health.p50} / ${health.p99} / ${health.p999} | ${profile.sendLagP99} / ${health.sendLagP99} | ${profile.ok.toLocaleString('en')} | ${profile.failed} |`,
  )
  .join('\n');
const aerospike = process.env.AEROSPIKE_HOSTS;
const markdown = `
## Profiles${aerospike ? ' on Aerospike (`bench:profiles` with `AEROSPIKE_HOSTS`)' : ' (`bench:profiles`)'}

Reproduce: ${aerospike ? `\`AEROSPIKE_HOSTS=${aerospike} ` : '`'}./run.sh bench:profiles\` (BENCH_EVENTS=${EVENTS}, BENCH_COOKIES=${COOKIES}, BENCH_SECONDS=${SECONDS}, BENCH_FRESH_SECONDS=${FRESH_SECONDS}, BENCH_MAX_SECONDS=${MAX_SECONDS}, BENCH_MAX_ROUNDS=${MAX_ROUNDS}).
Machine: ${machineLine()}; Kafka, the programs and the load all on it; profile store: ${process.env.AEROSPIKE_HOSTS ? `Aerospike at ${process.env.AEROSPIKE_HOSTS}` : 'embedded SQLite'}. Run at ${new Date().toISOString()}.

| measure | result | baseline in the same run | ratio |
|---|---:|---:|---:|
| projector, events/s applied to the store from a pre-filled topic | ${Math.round(projectRate).toLocaleString('en')} | read + decode only: ${Math.round(readRate).toLocaleString('en')} | ${(projectRate / readRate).toFixed(2)} |
| freshness at 1000 tags/s (204 → visible), p50 / p99 / max s | ${fresh.p50} / ${fresh.p99} / ${fresh.max} | — | — |
| \`/user_profiles\` at max rate, answers/s (${answers.size.toLocaleString('en')} paths, ${answerKiB} KiB an answer) | ${maxRate.api.toLocaleString('en')} (p99 ${maxRate.apiP99} ms, max ${maxRate.apiMax} ms) | bare node:http, same bytes: ${maxRate.bare.toLocaleString('en')} (p99 ${maxRate.bareP99} ms) | ${(maxRate.api / maxRate.bare).toFixed(2)} |

\`/user_profiles\` over ${COOKIES.toLocaleString('en')} cookies: \`bench/probe.ts\` in a process of its own, open loop, latency from each request's scheduled send time (sub-millisecond), ${SECONDS} s per endpoint and rate, GET /health on the same server interleaved with it in 5 s turns; at 100/s the probe spins for the last 2 ms before each send. Send lag: how late the probe itself sent (p99), part of both latencies.

| offered | profile p50 / p99 / p99.9 ms | GET /health p50 / p99 / p99.9 ms (baseline) | send lag p99 ms (profile / health) | answered | failed |
|---:|---:|---:|---:|---:|---:|
${rows}

Goals (issue 4): ≥ 30,000 events/s applied to the embedded store; p99 < 10 ms; freshness p99 < 1 s. (Issue 20): at max rate
≥ 10 % of the bare ceiling, p99 < 30 ms, nothing over 100 ms (\`bench:profile-reads\` measures this with 100–200-tag answers).
`;
writeReport(aerospike ? 'profiles-aerospike' : 'profiles', markdown, {
  machine: machineLine(),
  EVENTS,
  COOKIES,
  readRate,
  projectRate,
  runs,
  maxRate,
  fresh,
});
console.log(markdown);
process.exit(0);
