// bench:workers — the command API on the local Kafka as one process (WORKERS=1) and as a primary with
// two workers (WORKERS=2), next to the bare node:http 204 server (the ceiling), alternating in one
// invocation. CPU is read for the whole process tree (the primary and its workers).
//
//   ./run.sh bench:workers     (BENCH_SECONDS=15 BENCH_ROUNDS=2 BENCH_CONNECTIONS=64 to change)
import { readdirSync, readFileSync } from 'node:fs';
import { cpuSeconds, drive, ensureStack, type LoadResult, machineLine, startProgram, tagBodies, writeReport } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);

const bodies = tagBodies(5000);

/** The process and every process it started (its workers), from /proc. */
function tree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const found = [pid];
  for (let i = 0; i < found.length; i++) for (const [child, parent] of parentOf) if (parent === found[i]) found.push(child);
  return found;
}
const treeCpu = (pids: readonly number[]) => pids.reduce((sum, p) => sum + cpuSeconds(p), 0);

type Run = LoadResult & { workers?: number; cpuUsPerTag?: number };

async function measureApi(workers: number, label: string): Promise<Run> {
  const api = await startProgram('command-api/src/main.ts', {
    PORT: '0',
    HOST: '127.0.0.1',
    KAFKA_TOPIC: `bench-workers-${Date.now()}`,
    WORKERS: String(workers),
  });
  try {
    await drive(`${label} (warm-up)`, { url: `${api.url}/user_tags`, bodies, seconds: 5, connections });
    const pids = tree(api.child.pid as number);
    const before = treeCpu(pids);
    const result = await drive(label, { url: `${api.url}/user_tags`, bodies, seconds, connections });
    const used = treeCpu(pids) - before;
    return { ...result, workers, cpuUsPerTag: Math.round((1e6 * used) / Math.max(1, result.ok)) };
  } finally {
    await api.stop();
  }
}

ensureStack();
console.log(`bench:workers on ${machineLine()}: ${rounds} rounds of ${seconds} s, ${connections} connections`);
const runs: Run[] = [];
for (let round = 1; round <= rounds; round++) {
  const bare = await startProgram('bench/bare-server.ts', { PORT: '0' });
  await drive('bare node:http 204 (warm-up)', { url: bare.url, bodies, seconds: 3, connections });
  runs.push({ ...(await drive(`bare node:http 204 #${round}`, { url: bare.url, bodies, seconds, connections })), workers: 0 });
  await bare.stop();
  // Alternate which goes first, so neither always follows the other.
  const order = round % 2 === 1 ? [1, 2] : [2, 1];
  for (const w of order) runs.push(await measureApi(w, `command API, WORKERS=${w} #${round}`));
}

const mean = (w: number) => {
  const of = runs.filter((r) => r.workers === w);
  return {
    okPerSecond: Math.round(of.reduce((s, r) => s + r.okPerSecond, 0) / of.length),
    p99: of.reduce((s, r) => s + r.p99, 0) / of.length,
    cpuUsPerTag: w === 0 ? undefined : Math.round(of.reduce((s, r) => s + (r.cpuUsPerTag ?? 0), 0) / of.length),
  };
};
const [bare, one, two] = [mean(0), mean(1), mean(2)];
const pct = (a: number) => `${((100 * a) / bare.okPerSecond).toFixed(0)} %`;
const markdown = `
## Worker processes (\`bench:workers\`)

Reproduce: \`./run.sh bench:workers\` (BENCH_SECONDS=${seconds}, BENCH_ROUNDS=${rounds}, BENCH_CONNECTIONS=${connections}).
Machine: ${machineLine()}. Kafka (one node), the API, the load generator (autocannon, closed loop) share it;
the arms alternate in fresh processes. Run at ${new Date().toISOString()}.

| run | acknowledged tags/s | p50 ms | p99 ms | failed | CPU µs per tag (API process tree) |
|---|---:|---:|---:|---:|---:|
${runs.map((r) => `| ${r.label} | ${r.okPerSecond.toLocaleString('en')} | ${r.p50} | ${r.p99} | ${r.non2xx + r.errors + r.timeouts} | ${r.cpuUsPerTag ?? '—'} |`).join('\n')}

Means: bare ${bare.okPerSecond.toLocaleString('en')}/s; WORKERS=1 ${one.okPerSecond.toLocaleString('en')}/s (**${pct(one.okPerSecond)}** of the bare server, p99 ${one.p99.toFixed(1)} ms, ${one.cpuUsPerTag} µs/tag); WORKERS=2 ${two.okPerSecond.toLocaleString('en')}/s (**${pct(two.okPerSecond)}**, p99 ${two.p99.toFixed(1)} ms, ${two.cpuUsPerTag} µs/tag); two workers / one: **${(two.okPerSecond / one.okPerSecond).toFixed(2)}×**.
`;
writeReport('workers', markdown, { machine: machineLine(), seconds, rounds, connections, runs, bare, one, two });
console.log(markdown);
