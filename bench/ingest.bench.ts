// bench:ingest — acknowledged tags/s and latency of POST /user_tags against
// the local real Kafka, next to a bare node:http server answering 204 (the
// ceiling) in the same run. Everything runs on this machine: Kafka, the API
// and the load generator share its cores.
//
//   ./run.sh bench:ingest     (BENCH_SECONDS=15 BENCH_CONNECTIONS=64 BENCH_RATE=10000 to change)
import { Kafka, logLevel } from 'kafkajs';
import { cpuSeconds, drive, ensureStack, kafkaPid, type LoadResult, machineLine, startProgram, tagBodies, writeReport } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const fixedRate = Number(process.env.BENCH_RATE ?? 10_000);

// Realistic, varied bodies: many cookies, both product_id types.
const bodies = tagBodies(5000, { mixedIdTypes: true });

async function topicCount(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'bench', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((s, p) => s + Number(p.high), 0);
}

type Run = LoadResult & { stored?: number; apiCpuPer1k?: number; kafkaCpuPer1k?: number };

/** One measured run against a fresh command API process; CPU per 1,000 acknowledged tags for the API and for Kafka. */
async function measureApi(label: string, rate?: number, warmUpSeconds = 8): Promise<Run> {
  const topic = `bench-ingest-${Date.now()}`;
  const api = await startProgram('command-api/src/main.ts', { PORT: '0', HOST: '127.0.0.1', KAFKA_TOPIC: topic });
  try {
    await drive(`${label} (warm-up)`, { url: `${api.url}/user_tags`, bodies, seconds: warmUpSeconds, connections });
    const before = await topicCount(topic);
    const cpu0 = [cpuSeconds(api.child.pid), cpuSeconds(kafkaPid())];
    const result = await drive(label, { url: `${api.url}/user_tags`, bodies, seconds, connections, ...(rate ? { rate } : {}) });
    const cpu1 = [cpuSeconds(api.child.pid), cpuSeconds(kafkaPid())];
    await new Promise((r) => setTimeout(r, 500));
    const stored = (await topicCount(topic)) - before;
    const per1k = (i: number) => Number(((1000 * ((cpu1[i] as number) - (cpu0[i] as number))) / Math.max(1, result.ok)).toFixed(3));
    return { ...result, stored, apiCpuPer1k: per1k(0), kafkaCpuPer1k: per1k(1) };
  } finally {
    await api.stop();
  }
}

function mean(label: string, runs: Run[]): Run {
  const avg = (f: (r: Run) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  return {
    ...(runs[0] as Run),
    label,
    ok: runs.reduce((s, r) => s + r.ok, 0),
    stored: runs.reduce((s, r) => s + (r.stored ?? 0), 0),
    okPerSecond: Math.round(avg((r) => r.okPerSecond)),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    p999: avg((r) => r.p999),
    apiCpuPer1k: Number(avg((r) => r.apiCpuPer1k ?? 0).toFixed(3)),
    kafkaCpuPer1k: Number(avg((r) => r.kafkaCpuPer1k ?? 0).toFixed(3)),
  };
}

ensureStack();
console.log(`bench:ingest on ${machineLine()}: ${seconds}s per run, ${connections} connections`);

// Kafka's JIT is cold after a start: one long unmeasured run first, so the order of the runs below does not matter.
await measureApi('warm-up of Kafka and the API', undefined, 10);

// The API is measured twice, around the ceiling's run, and averaged: the machine is noisy.
const apiRuns: Run[] = [await measureApi('command API, saturated #1')];
const bare = await startProgram('bench/bare-server.ts', { PORT: '0' });
await drive('bare node:http 204 (warm-up)', { url: bare.url, bodies, seconds: 3, connections });
const ceiling = await drive('bare node:http 204 (ceiling)', { url: bare.url, bodies, seconds, connections });
await bare.stop();
apiRuns.push(await measureApi('command API, saturated #2'));

// The same API with an event log that acknowledges at once: what HTTP, validation and encoding cost without kafkajs and the broker.
const nullLog = await startProgram('bench/null-log-api.ts', { PORT: '0', HOST: '127.0.0.1' });
await drive('command API, no Kafka (warm-up)', { url: `${nullLog.url}/user_tags`, bodies, seconds: 8, connections });
const cpuBefore = cpuSeconds(nullLog.child.pid);
const withoutKafka: Run = await drive('command API, no Kafka (log acknowledges at once)', {
  url: `${nullLog.url}/user_tags`,
  bodies,
  seconds,
  connections,
});
withoutKafka.apiCpuPer1k = Number(((1000 * (cpuSeconds(nullLog.child.pid) - cpuBefore)) / Math.max(1, withoutKafka.ok)).toFixed(3));
await nullLog.stop();
const api = mean('command API, saturated (mean of 2)', apiRuns);
const fixed = await measureApi(`command API, ${fixedRate}/s offered`, fixedRate);

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
const ms = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const row = (r: Run) =>
  `| ${r.label} | ${r.okPerSecond.toLocaleString('en')} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p999)} | ${r.non2xx + r.errors + r.timeouts} | ${
    r.stored === undefined
      ? '—'
      : r.stored >= r.ok
        ? `${r.stored.toLocaleString('en')} ≥ ${r.ok.toLocaleString('en')}`
        : `**${r.stored} < ${r.ok}**`
  } | ${r.apiCpuPer1k ?? '—'} | ${r.kafkaCpuPer1k ?? '—'} |`;

const markdown = `
## Ingest (\`bench:ingest\`)

Reproduce: \`./run.sh bench:ingest\` (BENCH_SECONDS=${seconds}, BENCH_CONNECTIONS=${connections}, BENCH_RATE=${fixedRate}).
Machine: ${machineLine()}. Kafka 4.4 (KRaft, one node; acks=all, idempotent producer), the API and the
load generator (autocannon, closed loop unless a rate is offered) all share it. Run at ${new Date().toISOString()}.

| run | acknowledged tags/s | p50 ms | p99 ms | p99.9 ms | failed | stored in Kafka ≥ acknowledged | API CPU s / 1k tags | Kafka CPU s / 1k tags |
|---|---:|---:|---:|---:|---:|---|---:|---:|
${row(ceiling)}
${apiRuns.map(row).join('\n')}
${row(api)}
${row(withoutKafka)}
${row(fixed)}

- The command API vs the bare 204 server in the same run: **${pct(api.okPerSecond, ceiling.okPerSecond)}** of the ceiling's throughput.
- The same API with an event log that acknowledges at once: **${pct(withoutKafka.okPerSecond, ceiling.okPerSecond)}** of the ceiling; kafkajs and the broker account for the difference.
- At ${fixedRate.toLocaleString('en')} tags/s offered: ${fixed.okPerSecond.toLocaleString('en')} acknowledged/s, p99 **${fixed.p99} ms**.
`;
writeReport('ingest', markdown, { machine: machineLine(), seconds, connections, ceiling, apiRuns, api, withoutKafka, fixed });
console.log(markdown);
