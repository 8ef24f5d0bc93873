// bench:tracing — what tracing costs ingest: acknowledged tags/s and latency
// of POST /user_tags against the local real Kafka with tracing off, at the
// default sampling ratio and at 100 %, spans exported over OTLP/HTTP to a
// receiver in its own process (so the export is paid as in production). The
// arms alternate in fresh API processes (off, default, all, all, default,
// off, …) so drift of the shared machine falls on every arm alike.
//
//   ./run.sh bench:tracing     (BENCH_SECONDS=15 BENCH_ROUNDS=2 BENCH_CONNECTIONS=64 to change)
import { DEFAULT_SAMPLING_RATIO } from '@usertags/runtime';
import { cpuSeconds, drive, ensureStack, type LoadResult, machineLine, startProgram, tagBodies, writeReport } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);

const bodies = tagBodies(5000);

interface Arm {
  readonly name: string;
  readonly env: Record<string, string>;
}
type Run = LoadResult & { arm: string; apiCpuPer1k: number; spansExported: number; spansDropped: number };

/** The batch processor's count of spans handed to the exporter, and of those dropped because its queue was full. */
async function spanCounts(url: string): Promise<{ exported: number; dropped: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let exported = 0;
  let dropped = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('otel_sdk_processor_span_processed_total{')) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.includes('error_type="queue_full"')) dropped += value;
    else exported += value;
  }
  return { exported, dropped };
}

async function measure(arm: Arm, sinkUrl: string, round: number): Promise<Run> {
  const api = await startProgram('command-api/src/main.ts', {
    PORT: '0',
    HOST: '127.0.0.1',
    KAFKA_TOPIC: `bench-tracing-${Date.now()}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
    ...arm.env,
  });
  try {
    await drive(`${arm.name} #${round} (warm-up)`, { url: `${api.url}/user_tags`, bodies, seconds: 5, connections });
    const before = await spanCounts(api.url);
    const cpu0 = cpuSeconds(api.child.pid);
    const result = await drive(`${arm.name} #${round}`, { url: `${api.url}/user_tags`, bodies, seconds, connections });
    const cpu = cpuSeconds(api.child.pid) - cpu0;
    await new Promise((r) => setTimeout(r, 300));
    const after = await spanCounts(api.url);
    return {
      ...result,
      arm: arm.name,
      apiCpuPer1k: Number(((1000 * cpu) / Math.max(1, result.ok)).toFixed(3)),
      spansExported: after.exported - before.exported,
      spansDropped: after.dropped - before.dropped,
    };
  } finally {
    await api.stop();
  }
}

ensureStack();
console.log(`bench:tracing on ${machineLine()}: ${seconds}s per run, ${rounds} rounds, ${connections} connections`);
const sink = await startProgram('bench/otlp-sink.ts', { PORT: '0' });
const arms: Arm[] = [
  { name: 'tracing off', env: { OTEL_TRACES_EXPORTER: 'none' } },
  { name: `default sampling (${DEFAULT_SAMPLING_RATIO * 100} %)`, env: { OTEL_TRACES_EXPORTER: 'otlp' } },
  { name: 'all sampled (100 %)', env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER_ARG: '1' } },
];
const runs: Run[] = [];
try {
  // Kafka's JIT is cold after a start: one unmeasured run first.
  await measure(arms[0] as Arm, sink.url, 0);
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? arms : [...arms].reverse();
    for (const arm of order) runs.push(await measure(arm, sink.url, round));
  }
} finally {
  await sink.stop();
}

const mean = (arm: Arm) => {
  const mine = runs.filter((r) => r.arm === arm.name);
  const avg = (f: (r: Run) => number) => mine.reduce((s, r) => s + f(r), 0) / mine.length;
  return {
    arm: arm.name,
    okPerSecond: Math.round(avg((r) => r.okPerSecond)),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    apiCpuPer1k: Number(avg((r) => r.apiCpuPer1k).toFixed(3)),
    spansPerSecond: Math.round(avg((r) => r.spansExported / r.seconds)),
    spansDropped: mine.reduce((s, r) => s + r.spansDropped, 0),
    failed: mine.reduce((s, r) => s + r.non2xx + r.errors + r.timeouts, 0),
  };
};
const means = arms.map(mean);
const off = means[0] as ReturnType<typeof mean>;
const cost = (m: ReturnType<typeof mean>) => `${((100 * (off.okPerSecond - m.okPerSecond)) / off.okPerSecond).toFixed(1)} %`;
const ms = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

const markdown = `
## Tracing cost on ingest (\`bench:tracing\`)

Reproduce: \`./run.sh bench:tracing\` (BENCH_SECONDS=${seconds}, BENCH_ROUNDS=${rounds}, BENCH_CONNECTIONS=${connections}).
Machine: ${machineLine()}; Kafka, the command API, the load generator (autocannon, closed loop) and the OTLP
receiver (\`bench/otlp-sink.ts\`, reads and acknowledges every export) all share it. The arms alternate in
fresh API processes, ${rounds} runs each. Run at ${new Date().toISOString()}.

| arm | acknowledged tags/s (mean) | throughput cost | p50 ms | p99 ms | API CPU s / 1k tags | spans exported /s | spans dropped (queue full) | failed |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${means.map((m) => `| ${m.arm} | ${m.okPerSecond.toLocaleString('en')} | ${m === off ? '—' : cost(m)} | ${ms(m.p50)} | ${ms(m.p99)} | ${m.apiCpuPer1k} | ${m.spansPerSecond.toLocaleString('en')} | ${m.spansDropped.toLocaleString('en')} | ${m.failed} |`).join('\n')}

Every run:

| run | acknowledged tags/s | p50 ms | p99 ms | API CPU s / 1k tags |
|---|---:|---:|---:|---:|
${runs.map((r) => `| ${r.label} | ${r.okPerSecond.toLocaleString('en')} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.apiCpuPer1k} |`).join('\n')}
`;
writeReport('tracing', markdown, { machine: machineLine(), seconds, rounds, connections, runs, means });
console.log(markdown);
