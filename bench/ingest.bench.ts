// bench:ingest — acknowledged tags/s and latency of POST /user_tags against
// the local real Kafka, next to a bare node:http server answering 204 (the
// ceiling) in the same run. Everything runs on this machine: Kafka, the API
// and the load generator share its cores.
//
//   ./run.sh bench:ingest            (BENCH_SECONDS=20 BENCH_CONNECTIONS=64 to change)
import { Kafka, logLevel } from 'kafkajs';
import { drive, ensureStack, type LoadResult, machineLine, startProgram, writeReport } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const fixedRate = Number(process.env.BENCH_RATE ?? 10_000);

// Realistic, varied bodies: many cookies, both product_id types.
const bodies = Array.from({ length: 5000 }, (_, i) =>
  JSON.stringify({
    time: new Date(Date.UTC(2022, 2, 1) + i).toISOString(),
    cookie: `cookie-${(i * 7919) % 100_000}`,
    country: `C${i % 100}`,
    device: ['PC', 'MOBILE', 'TV'][i % 3],
    action: i % 5 === 0 ? 'BUY' : 'VIEW',
    origin: `origin-${i % 1000}`,
    product_info: { product_id: i % 2 === 0 ? String(i) : i, brand_id: `brand-${i % 250}`, category_id: `cat-${i % 67}`, price: (i * 37) % 100_000 },
  }),
);

async function topicCount(topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'bench', brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  return offsets.reduce((s, p) => s + Number(p.high), 0);
}

async function measureApi(label: string, fastPath: boolean, rate?: number): Promise<LoadResult & { stored: number }> {
  const topic = `bench-ingest-${Date.now()}`;
  const api = await startProgram('command-api/src/main.ts', {
    PORT: '0',
    HOST: '127.0.0.1',
    KAFKA_TOPIC: topic,
    HTTP_FAST_PATH: String(fastPath),
  });
  try {
    await drive(`${label} (warm-up)`, { url: `${api.url}/user_tags`, bodies, seconds: 3, connections });
    const before = await topicCount(topic);
    const result = await drive(label, { url: `${api.url}/user_tags`, bodies, seconds, connections, ...(rate ? { rate } : {}) });
    await new Promise((r) => setTimeout(r, 500));
    const stored = (await topicCount(topic)) - before;
    return { ...result, stored };
  } finally {
    await api.stop();
  }
}

ensureStack();
console.log(`bench:ingest on ${machineLine()}: ${seconds}s per run, ${connections} connections`);

const bare = await startProgram('bench/bare-server.ts', { PORT: '0' });
await drive('bare node:http 204 (warm-up)', { url: bare.url, bodies, seconds: 3, connections });
const ceiling = await drive('bare node:http 204 (ceiling)', { url: bare.url, bodies, seconds, connections });
await bare.stop();

const fast = await measureApi('command API, lean route, saturated', true);
const viaExpress = await measureApi('command API, express route, saturated', false);
const fixed = await measureApi(`command API, lean route, ${fixedRate}/s offered`, true, fixedRate);

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
const row = (r: LoadResult & { stored?: number }) =>
  `| ${r.label} | ${r.okPerSecond.toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.p999} | ${r.non2xx + r.errors + r.timeouts} | ${r.stored === undefined ? '—' : r.stored >= r.ok ? `${r.stored} ≥ ${r.ok} ✓` : `${r.stored} < ${r.ok} ✗`} |`;

const markdown = `
## Ingest (\`bench:ingest\`)

Reproduce: \`./run.sh bench:ingest\` (BENCH_SECONDS=${seconds}, BENCH_CONNECTIONS=${connections}, BENCH_RATE=${fixedRate}).
Machine: ${machineLine()}; Kafka ${'(KRaft, single node, acks=all, idempotent producer)'}, the API and autocannon all on it.
Run at ${new Date().toISOString()}.

| run | acknowledged tags/s | p50 ms | p99 ms | p99.9 ms | failed | stored in Kafka ≥ acknowledged |
|---|---:|---:|---:|---:|---:|---|
${row(ceiling)}
${row(fast)}
${row(viaExpress)}
${row(fixed)}

- Lean route vs the bare ceiling: **${pct(fast.okPerSecond, ceiling.okPerSecond)}** of its throughput.
- Express route vs lean route: **${pct(viaExpress.okPerSecond, fast.okPerSecond)}** of its throughput.
- At ${fixedRate.toLocaleString('en')} tags/s offered: p99 **${fixed.p99} ms**, ${fixed.okPerSecond.toLocaleString('en')} acknowledged/s.
`;
writeReport('ingest', markdown, { machine: machineLine(), seconds, connections, ceiling, fast, viaExpress, fixed });
console.log(markdown);
