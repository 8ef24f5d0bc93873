// bench:aggregates — the aggregate read model under the reference workload:
//  1. projector throughput: events/s applied to PostgreSQL from a pre-filled
//     topic, next to the rate at which the same topic is merely read and
//     decoded (the baseline: what consuming costs before any store work);
//  2. /aggregates latency for 10-minute ranges over a store holding the whole
//     pre-filled hour, for the heaviest shape (action only) and the lightest
//     (all three filters), next to GET /health on the same server;
//  3. freshness at 1000 tags/s: time from 204 to being counted.
//
//   ./run.sh bench:aggregates      (BENCH_EVENTS=3600000 BENCH_QUERIES=200 BENCH_FRESH_SECONDS=30)
import { createPostgresAggregateStore } from '@usertags/read-models';
import { createTestDatabase, postTag, referenceTags } from '@usertags/testkit';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { ensureStack, fillTopic, machineLine, quantile, readOnlyRate, startProgram, writeReport } from './support.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3_600_000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 200);
const FRESH_SECONDS = Number(process.env.BENCH_FRESH_SECONDS ?? 30);
const START = Date.UTC(2022, 2, 1, 0, 0);
const BROKERS = ['127.0.0.1:9092'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1) => Number(n.toFixed(d));

ensureStack();
console.log(`bench:aggregates on ${machineLine()}: ${EVENTS.toLocaleString('en')} events`);
const kafka = new Kafka({ clientId: 'bench-aggregates', brokers: BROKERS, logLevel: logLevel.NOTHING });
const topic = `bench-aggregates-${Date.now()}`;
const admin = kafka.admin();
await admin.connect();

// --- fill the topic, and the baseline: read and decode only -----------------
const filled = await fillTopic(kafka, topic, referenceTags(1, START, EVENTS));
console.log(`filled ${topic} with ${EVENTS.toLocaleString('en')} events in ${filled.seconds.toFixed(1)} s`);
const readRate = await readOnlyRate(kafka, topic, EVENTS);
console.log(`baseline: read + decode ${Math.round(readRate).toLocaleString('en')} events/s`);

// --- projector throughput -------------------------------------------------
const database = await createTestDatabase('bench_aggregates');
const store = createPostgresAggregateStore({ connectionString: database.url });
const projector = await startProgram('projector/src/main.ts', {
  PORT: '0',
  KAFKA_TOPIC: topic,
  KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
  AGGREGATES_GROUP_ID: `bench-${topic}`,
  DATABASE_URL: database.url,
  FLUSH_MAX_EVENTS: process.env.BENCH_FLUSH_MAX_EVENTS ?? '50000',
  FLUSH_MAX_DELAY_MS: '500',
  PROJECTIONS: 'aggregates',
});
const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
let projectStart = 0;
let projectEnd = 0;
const samples: Array<{ seconds: number; applied: number }> = [];
for (;;) {
  const stored = await store.loadOffsets(topic).catch(() => new Map<number, bigint>());
  const applied = [...stored.values()].reduce((s, o) => s + Number(o), 0);
  if (applied > 0 && projectStart === 0) projectStart = performance.now();
  if (projectStart > 0) samples.push({ seconds: round((performance.now() - projectStart) / 1000), applied });
  if ([...ends].every(([p, end]) => (stored.get(p) ?? 0n) >= end)) {
    projectEnd = performance.now();
    break;
  }
  await sleep(1000);
}
// The first sample is taken at the first applied batch; the rate counts from there.
const firstApplied = samples[0]?.applied ?? 0;
const projectRate = (EVENTS - firstApplied) / ((projectEnd - projectStart) / 1000);
console.log(`projector: ${Math.round(projectRate).toLocaleString('en')} events/s applied`);

// --- query latency --------------------------------------------------------
const query = await startProgram('query-api/src/main.ts', { PORT: '0', DATABASE_URL: database.url });
async function latency(label: string, url: (i: number) => string): Promise<{ label: string; p50: number; p99: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    const res = await fetch(url(i));
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
    times.push(performance.now() - t);
  }
  const r = { label, p50: round(quantile(times, 0.5), 2), p99: round(quantile(times, 0.99), 2), max: round(Math.max(...times), 2) };
  console.log(`${label.padEnd(48)} p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms`);
  return r;
}
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 19);
const minutes = Math.floor(EVENTS / 60_000);
const range = (i: number) => {
  const from = START + ((i * 7) % Math.max(1, minutes - 10)) * 60_000;
  return `${iso(from)}_${iso(from + 10 * 60_000)}`;
};
for (let i = 0; i < 20; i++) await fetch(`${query.url}/aggregates?time_range=${range(i)}&action=BUY&aggregates=COUNT`); // warm-up
const health = await latency('GET /health (baseline)', () => `${query.url}/health`);
const heavy = await latency(
  '/aggregates action only, 10 min',
  (i) => `${query.url}/aggregates?time_range=${range(i)}&action=${i % 2 ? 'BUY' : 'VIEW'}&aggregates=COUNT&aggregates=SUM_PRICE`,
);
const light = await latency(
  '/aggregates all three filters, 10 min',
  (i) =>
    `${query.url}/aggregates?time_range=${range(i)}&action=BUY&origin=origin-${i % 1000}&brand_id=brand-${i % 250}&category_id=category-${i % 67}&aggregates=COUNT&aggregates=SUM_PRICE`,
);
const heavyPost = await latency(
  '/aggregates action only, 10 min, POST debug',
  (i) => `${query.url}/aggregates?time_range=${range(i)}&action=BUY&aggregates=COUNT`,
);

// --- freshness at 1000 tags/s ---------------------------------------------
const api = await startProgram('command-api/src/main.ts', { PORT: '0', HOST: '127.0.0.1', KAFKA_TOPIC: topic });
const freshStart = START + EVENTS + 120_000; // after the filled hour, in minutes of its own
const marker = `fresh-${Date.now()}`;
const acked: number[] = [];
let sent = 0;
const sending = (async () => {
  const t0 = performance.now();
  const total = FRESH_SECONDS * 1000;
  while (sent < total) {
    const due = Math.floor(((performance.now() - t0) / 1000) * 1000);
    const batch: Promise<void>[] = [];
    while (sent < Math.min(due, total)) {
      const i = sent++;
      const tag = {
        time: new Date(freshStart + i).toISOString(),
        cookie: `fresh-${i % 5000}`,
        country: 'PL',
        device: 'PC' as const,
        action: 'BUY' as const,
        origin: marker,
        product_info: { product_id: 'p', brand_id: 'b', category_id: 'c', price: 1 },
      };
      batch.push(
        postTag(api.url, tag).then(async (res) => {
          await res.arrayBuffer();
          if (res.status === 204) acked[i] = performance.now();
        }),
      );
    }
    await Promise.all(batch);
    await sleep(5);
  }
})();
const firstSeen: number[] = [];
const freshRange = `${iso(freshStart - (freshStart % 60_000))}_${iso(freshStart - (freshStart % 60_000) + Math.ceil((FRESH_SECONDS + 60) / 60) * 60_000)}`;
let polling = true;
const poller = (async () => {
  let visible = 0;
  while (polling || visible < sent) {
    const res = await fetch(`${query.url}/aggregates?time_range=${freshRange}&action=BUY&origin=${marker}&aggregates=COUNT`);
    const body = (await res.json()) as { rows: string[][] };
    const now = performance.now();
    const count = body.rows.reduce((s, r) => s + Number(r[3]), 0);
    for (let k = visible; k < count; k++) firstSeen[k] = now;
    visible = Math.max(visible, count);
    if (!polling && visible >= sent) break;
    await sleep(50);
  }
})();
await sending;
polling = false;
await Promise.race([poller, sleep(60_000)]);
// Counts grow in acknowledgement order only roughly (partitions flush together), so freshness is
// measured as: the k-th acknowledged tag is visible once k tags are counted.
const ackTimes = acked.filter((t) => t !== undefined).sort((a, b) => a - b);
const lags = ackTimes.map((t, k) => (firstSeen[k] ?? Number.NaN) - t).filter((x) => Number.isFinite(x));
const fresh = {
  p50: round(quantile(lags, 0.5) / 1000, 2),
  p99: round(quantile(lags, 0.99) / 1000, 2),
  max: round(Math.max(...lags) / 1000, 2),
  tags: ackTimes.length,
};
console.log(`freshness over ${fresh.tags} tags: p50 ${fresh.p50} s  p99 ${fresh.p99} s  max ${fresh.max} s`);

await Promise.all([api.stop(), query.stop(), projector.stop()]);
await store.close();
const dbSize = await (async () => {
  const c = new pg.Client({ connectionString: database.url });
  await c.connect();
  const r = await c.query(
    'SELECT pg_size_pretty(pg_database_size(current_database())) AS size, (SELECT count(*) FROM aggregate_minutes) AS rows',
  );
  await c.end();
  return r.rows[0] as { size: string; rows: string };
})();
await database.drop();
await admin.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
await admin.disconnect();

const markdown = `
## Aggregates (\`bench:aggregates\`)

Reproduce: \`./run.sh bench:aggregates\` (BENCH_EVENTS=${EVENTS}, BENCH_QUERIES=${QUERIES}, BENCH_FRESH_SECONDS=${FRESH_SECONDS}).
Machine: ${machineLine()}; Kafka, PostgreSQL 15 (stock settings), the programs and the load all on it. Run at ${new Date().toISOString()}.
Workload: the reference stream (§4 cardinalities, +1 ms per tag) — ${EVENTS.toLocaleString('en')} events = ${(EVENTS / 3_600_000).toFixed(2)} h at 1000/s;
the store then held ${Number(dbSize.rows).toLocaleString('en')} minute rows (${dbSize.size}).

| measure | result | baseline in the same run | ratio |
|---|---:|---:|---:|
| projector, events/s applied from a pre-filled topic | ${Math.round(projectRate).toLocaleString('en')} | read + decode only: ${Math.round(readRate).toLocaleString('en')} | ${(projectRate / readRate).toFixed(2)} |
| ${heavy.label}: p50 / p99 ms | ${heavy.p50} / ${heavy.p99} | ${health.label}: ${health.p50} / ${health.p99} | ${(heavy.p99 / health.p99).toFixed(1)}× |
| ${light.label}: p50 / p99 ms | ${light.p50} / ${light.p99} | same | ${(light.p99 / health.p99).toFixed(1)}× |
| freshness at 1000 tags/s (204 → counted), p50 / p99 / max s | ${fresh.p50} / ${fresh.p99} / ${fresh.max} | flush delay setting: 0.5 s | — |

Goals (issue 3): ≥ 50,000 events/s applied; p99 < 50 ms for a 10-minute range; freshness p99 < 5 s.
`;
writeReport('aggregates', markdown, {
  machine: machineLine(),
  EVENTS,
  readRate,
  projectRate,
  samples,
  health,
  heavy,
  light,
  heavyPost,
  fresh,
  dbSize,
});
console.log(markdown);
process.exit(0);
