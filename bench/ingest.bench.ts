// bench:ingest — acknowledged tags/s and latency of POST /user_tags against
// the local real Kafka, next to a bare node:http server answering 204 (the
// ceiling) in the same run, for each Kafka client the command API can use
// (KAFKA_CLIENT: kafkajs, @platformatic/kafka), their runs alternating in
// fresh processes. Everything runs on this machine: Kafka, the API and the
// load generator share its cores.
//
//   ./run.sh bench:ingest     (BENCH_SECONDS=15 BENCH_CONNECTIONS=64 BENCH_RATE=10000 BENCH_OPEN_RATE=4000
//                              BENCH_ROUNDS=2 to change)
import { deleteTopic } from '@usertags/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { cpuSeconds, drive, ensureStack, kafkaPid, type LoadResult, machineLine, startProgram, tagBodies, writeReport } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const fixedRate = Number(process.env.BENCH_RATE ?? 10_000);
// The open-loop rate at which the clients' CPU per tag is compared: both send the same batches.
const openRate = Number(process.env.BENCH_OPEN_RATE ?? 4000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);

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

/** The command API's Kafka clients (KAFKA_CLIENT), each measured the same way. */
const CLIENTS = { kafkajs: 'kafkajs', platformatic: '@platformatic/kafka' } as const;
type Client = keyof typeof CLIENTS;
const clientOrder = (round: number): Client[] => (round % 2 === 1 ? ['kafkajs', 'platformatic'] : ['platformatic', 'kafkajs']);

/** One measured run against a fresh command API process; CPU per 1,000 acknowledged tags for the API and for Kafka. */
async function measureApi(label: string, client: Client, rate?: number, warmUpSeconds = 8): Promise<Run> {
  const topic = `bench-ingest-${Date.now()}`;
  const api = await startProgram('command-api/src/main.ts', { PORT: '0', HOST: '127.0.0.1', KAFKA_TOPIC: topic, KAFKA_CLIENT: client });
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
    // A topic per run: deleted, so that runs do not pile partitions up in the dev stack's broker.
    await deleteTopic(topic);
  }
}

function mean(label: string, runs: Run[]): Run {
  const avg = (f: (r: Run) => number) => runs.reduce((s, r) => s + f(r), 0) / runs.length;
  // Runs of a program without Kafka have neither a stored count nor Kafka's CPU: left out, not averaged as zero.
  const withKafka = runs.every((r) => r.stored !== undefined && r.kafkaCpuPer1k !== undefined);
  return {
    ...(runs[0] as Run),
    label,
    ok: runs.reduce((s, r) => s + r.ok, 0),
    okPerSecond: Math.round(avg((r) => r.okPerSecond)),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    p999: avg((r) => r.p999),
    apiCpuPer1k: Number(avg((r) => r.apiCpuPer1k ?? 0).toFixed(3)),
    ...(withKafka
      ? {
          stored: runs.reduce((s, r) => s + (r.stored ?? 0), 0),
          kafkaCpuPer1k: Number(avg((r) => r.kafkaCpuPer1k ?? 0).toFixed(3)),
        }
      : {}),
  };
}

ensureStack();
console.log(`bench:ingest on ${machineLine()}: ${seconds}s per run, ${connections} connections, ${rounds} rounds per client`);

// Kafka's JIT is cold after a start: one long unmeasured run first, so the order of the runs below does not matter.
await measureApi('warm-up of Kafka and the API', 'kafkajs', undefined, 10);

// Each client is measured in `rounds` rounds, the clients alternating (ABBA…), the ceiling's run after
// the first round, and averaged: the machine is noisy.
const saturated: Record<Client, Run[]> = { kafkajs: [], platformatic: [] };
let ceiling: Run | undefined;
for (let round = 1; round <= rounds; round++) {
  for (const client of clientOrder(round)) {
    saturated[client].push(await measureApi(`command API, ${CLIENTS[client]}, saturated #${round}`, client));
  }
  if (round === 1) ceiling = await measureWithoutKafka('bare node:http 204 (ceiling)', 'bench/bare-server.ts');
}
if (ceiling === undefined) throw new Error('BENCH_ROUNDS must be at least 1');

/** One measured run of a program without Kafka (the bare server, the API with a null log): its CPU per 1,000 tags. */
async function measureWithoutKafka(label: string, script: string, rate?: number): Promise<Run> {
  const program = await startProgram(script, { PORT: '0', HOST: '127.0.0.1' });
  try {
    await drive(`${label} (warm-up)`, { url: `${program.url}/user_tags`, bodies, seconds: 8, connections });
    const cpu0 = cpuSeconds(program.child.pid);
    const result: Run = await drive(label, { url: `${program.url}/user_tags`, bodies, seconds, connections, ...(rate ? { rate } : {}) });
    result.apiCpuPer1k = Number(((1000 * (cpuSeconds(program.child.pid) - cpu0)) / Math.max(1, result.ok)).toFixed(3));
    return result;
  } finally {
    await program.stop();
  }
}

// The same API with an event log that acknowledges at once: what HTTP, validation and encoding cost without a Kafka client and the broker.
const withoutKafka = await measureWithoutKafka('command API, no Kafka (log acknowledges at once)', 'bench/null-log-api.ts');

// Open loop at the same rate, paced (bench/paced.ts): the bare server (what node:http alone costs for requests
// that come one at a time), the API without Kafka, and each client, which then all send the same batches.
const openBare: Run[] = [];
const openWithoutKafka: Run[] = [];
const open: Record<Client, Run[]> = { kafkajs: [], platformatic: [] };
for (let round = 1; round <= rounds; round++) {
  openBare.push(await measureWithoutKafka(`bare node:http 204, ${openRate}/s offered #${round}`, 'bench/bare-server.ts', openRate));
  openWithoutKafka.push(
    await measureWithoutKafka(`command API, no Kafka, ${openRate}/s offered #${round}`, 'bench/null-log-api.ts', openRate),
  );
  for (const client of clientOrder(round)) {
    open[client].push(await measureApi(`command API, ${CLIENTS[client]}, ${openRate}/s offered #${round}`, client, openRate));
  }
}
const fixed: Record<Client, Run> = {
  kafkajs: await measureApi(`command API, ${CLIENTS.kafkajs}, ${fixedRate}/s offered`, 'kafkajs', fixedRate),
  platformatic: await measureApi(`command API, ${CLIENTS.platformatic}, ${fixedRate}/s offered`, 'platformatic', fixedRate),
};

const api: Record<Client, Run> = {
  kafkajs: mean(`command API, ${CLIENTS.kafkajs}, saturated (mean of ${rounds})`, saturated.kafkajs),
  platformatic: mean(`command API, ${CLIENTS.platformatic}, saturated (mean of ${rounds})`, saturated.platformatic),
};
const openBareMean = mean(`bare node:http 204, ${openRate}/s offered (mean of ${rounds})`, openBare);
const openWithoutKafkaMean = mean(`command API, no Kafka, ${openRate}/s offered (mean of ${rounds})`, openWithoutKafka);
const openMean: Record<Client, Run> = {
  kafkajs: mean(`command API, ${CLIENTS.kafkajs}, ${openRate}/s offered (mean of ${rounds})`, open.kafkajs),
  platformatic: mean(`command API, ${CLIENTS.platformatic}, ${openRate}/s offered (mean of ${rounds})`, open.platformatic),
};

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)}%`;
const ms = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const us = (r: Run) => Math.round(1000 * (r.apiCpuPer1k ?? Number.NaN));
const row = (r: Run) =>
  `| ${r.label} | ${r.okPerSecond.toLocaleString('en')} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p999)} | ${r.non2xx + r.errors + r.timeouts} | ${
    r.stored === undefined
      ? '—'
      : r.stored >= r.ok
        ? `${r.stored.toLocaleString('en')} ≥ ${r.ok.toLocaleString('en')}`
        : `**${r.stored} < ${r.ok}**`
  } | ${r.apiCpuPer1k === undefined ? '—' : us(r)} | ${r.kafkaCpuPer1k === undefined ? '—' : Math.round(1000 * r.kafkaCpuPer1k)} |`;
const ratio = (a: number, b: number) => (a / b).toFixed(2);

const markdown = `
## Ingest (\`bench:ingest\`)

Reproduce: \`./run.sh bench:ingest\` (BENCH_SECONDS=${seconds}, BENCH_CONNECTIONS=${connections}, BENCH_RATE=${fixedRate}, BENCH_OPEN_RATE=${openRate}, BENCH_ROUNDS=${rounds}).
Machine: ${machineLine()}. Kafka 4.4 (KRaft, one node; acks=all, idempotent producer), the API and the
load generator (autocannon closed loop; with a rate offered, bench/paced.ts, paced like the tester) all share it. The command API runs with
each Kafka client (\`KAFKA_CLIENT\`: kafkajs 2.2.4 patched, @platformatic/kafka), one fresh process per run,
the clients alternating. Run at ${new Date().toISOString()}.

| run | acknowledged tags/s | p50 ms | p99 ms | p99.9 ms | failed | stored in Kafka ≥ acknowledged | API CPU µs / tag | Kafka CPU µs / tag |
|---|---:|---:|---:|---:|---:|---|---:|---:|
${row(ceiling)}
${[...saturated.kafkajs, ...saturated.platformatic].map(row).join('\n')}
${row(api.kafkajs)}
${row(api.platformatic)}
${row(withoutKafka)}
${[...openBare, ...openWithoutKafka, ...open.kafkajs, ...open.platformatic].map(row).join('\n')}
${row(openBareMean)}
${row(openWithoutKafkaMean)}
${row(openMean.kafkajs)}
${row(openMean.platformatic)}
${row(fixed.kafkajs)}
${row(fixed.platformatic)}

- Saturated, against the bare 204 server in the same run: kafkajs **${pct(api.kafkajs.okPerSecond, ceiling.okPerSecond)}** of the ceiling
  (${api.kafkajs.okPerSecond.toLocaleString('en')}/s, p99 ${ms(api.kafkajs.p99)} ms, ${us(api.kafkajs)} µs/tag), @platformatic/kafka
  **${pct(api.platformatic.okPerSecond, ceiling.okPerSecond)}** (${api.platformatic.okPerSecond.toLocaleString('en')}/s, p99 ${ms(api.platformatic.p99)} ms,
  ${us(api.platformatic)} µs/tag): ${ratio(api.platformatic.okPerSecond, api.kafkajs.okPerSecond)}× the throughput.
- At ${openRate.toLocaleString('en')} tags/s offered (paced open loop): the API spends **${us(openMean.kafkajs)} µs** of CPU per tag with kafkajs and
  **${us(openMean.platformatic)} µs** with @platformatic/kafka (${ratio(us(openMean.platformatic), us(openMean.kafkajs))}×); p99 ${ms(openMean.kafkajs.p99)} and ${ms(openMean.platformatic.p99)} ms.
  At the same pace the bare server spends **${us(openBareMean)} µs** a request and the API without Kafka **${us(openWithoutKafkaMean)} µs**:
  node:http's share of the kafkajs API's CPU is ${pct(us(openBareMean), us(openMean.kafkajs))}, the API's own work (body, validation, encoding, batching,
  metrics) ${pct(us(openWithoutKafkaMean) - us(openBareMean), us(openMean.kafkajs))}, kafkajs and its socket ${pct(us(openMean.kafkajs) - us(openWithoutKafkaMean), us(openMean.kafkajs))}.
- The same API with an event log that acknowledges at once: **${pct(withoutKafka.okPerSecond, ceiling.okPerSecond)}** of the ceiling, ${us(withoutKafka)} µs/tag; the Kafka client and the broker account for the difference.
- At ${fixedRate.toLocaleString('en')} tags/s offered: kafkajs ${fixed.kafkajs.okPerSecond.toLocaleString('en')} acknowledged/s, p99 **${fixed.kafkajs.p99} ms**;
  @platformatic/kafka ${fixed.platformatic.okPerSecond.toLocaleString('en')}/s, p99 **${fixed.platformatic.p99} ms**.
`;
writeReport('ingest', markdown, {
  machine: machineLine(),
  seconds,
  connections,
  rounds,
  ceiling,
  saturated,
  api,
  withoutKafka,
  openRate,
  openBare,
  openWithoutKafka,
  open,
  openBareMean,
  openWithoutKafkaMean,
  openMean,
  fixed,
});
console.log(markdown);
