// bench:profile-reads — what a /user_profiles answer costs the query API, against the bare ceiling for the same bytes.
// No Kafka or PostgreSQL: the profile store — embedded SQLite, or Aerospike when AEROSPIKE_HOSTS is set — is filled
// directly through the projector's entries and the store's apply(), then, on the same machine and with the same
// load generator:
//  - the query API (this checkout) and a bare node:http server sending exactly the bytes the query API answered
//    (bench/bare-server.ts), and, when BENCH_BASE_ROOT names another tree of the repository (the base commit,
//    made by bench/base-tree.sh), that tree's query API over the same store, checked to answer the same bytes
//    (embedded store only: the base tree makes the file, in its layout, and this checkout's store writes every
//    row so that both read it — a file from before the JSON text gets both the payload and the text);
//  - with BENCH_QUERY_WORKERS=<n> (Aerospike only, BENCH_AGGREGATES=<PostgreSQL URL>), a further arm: the query API as a
//    primary with n worker processes on one port, its CPU counted over all of them;
//  - closed loop at max rate (autocannon in its own process, bench/closed-loop.ts, BENCH_CONNECTIONS connections, BENCH_SECONDS per run), the arms taking turns,
//    BENCH_ROUNDS rounds, order reversed every other round;
//  - open loop at BENCH_RATE requests/s (bench/probe.ts: latency from each request's scheduled send time, sub-millisecond);
//  - all of it twice: with the store left alone, and while a writer process (bench/profile-writer.ts, standing in
//    for the projector) applies BENCH_WRITE_RATE tags/s of other cookies to the same store (0: not at all).
//
//   node bench/profile-reads.bench.ts   (BENCH_COOKIES=200 BENCH_TAGS=200 BENCH_CONNECTIONS=32 BENCH_SECONDS=10 BENCH_ROUNDS=2
//                                        BENCH_RATE=100 BENCH_RATE_SECONDS=20 BENCH_WRITE_RATE=4000 [AEROSPIKE_HOSTS=<host:port>]
//                                        [BENCH_BASE_ROOT=<checkout>] [BENCH_CPU_PROF=<dir>]
//                                        [BENCH_QUERY_WORKERS=<n> BENCH_AGGREGATES=<PostgreSQL URL>]
//                                        [BENCH_NODE_OPTIONS=<options for the programs measured>])
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProfileStore } from '@usertags/read-models';
import { referenceTags } from '@usertags/testkit';
import { type ProbeResult, probe } from './probe.ts';
import {
  applyProfileTags,
  cpuBetween,
  cpuSeconds,
  cpuSnapshot,
  driveGets,
  type GetLoadResult,
  machineLine,
  startBareCopy,
  startProgram,
  treeCpuSeconds,
  writeReport,
} from './support.ts';

const COOKIES = Number(process.env.BENCH_COOKIES ?? 200);
const TAGS = Number(process.env.BENCH_TAGS ?? 200);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 20);
const WRITE_RATE = Number(process.env.BENCH_WRITE_RATE ?? 4000);
const AEROSPIKE = process.env.AEROSPIKE_HOSTS || undefined;
const BASE_ROOT = process.env.BENCH_BASE_ROOT;
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** Node options for the programs measured (the query APIs, the bare server), e.g. a preload that reports stalls. */
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;
/** A further arm: the query API with this many worker processes (needs Aerospike and BENCH_AGGREGATES, a PostgreSQL URL). */
const QUERY_WORKERS = process.env.BENCH_QUERY_WORKERS === undefined ? undefined : Number(process.env.BENCH_QUERY_WORKERS);
const AGGREGATES_URL = process.env.BENCH_AGGREGATES;
if (QUERY_WORKERS !== undefined && (process.env.AEROSPIKE_HOSTS === undefined || AGGREGATES_URL === undefined))
  throw new Error('BENCH_QUERY_WORKERS needs stores that several processes share: AEROSPIKE_HOSTS, and BENCH_AGGREGATES=<PostgreSQL URL>');
const START = Date.UTC(2022, 2, 1, 0, 0);
const round = (n: number, d = 1) => Number(n.toFixed(d));

console.log(`bench:profile-reads on ${machineLine()}: ${COOKIES} cookies × ${TAGS} tags`);
const dir = mkdtempSync(join(tmpdir(), 'bench-profile-reads-'));
const storePath = join(dir, 'profiles.sqlite');

// --- the store: the reference stream over few cookies, as the projector would apply it -------------
// Aerospike: a set of its own in the namespace the query API reads (AEROSPIKE_NAMESPACE, `test` by default).
const aerospikeSet = `bench_profile_reads_${Date.now()}`;
const aerospikeNamespace = process.env.AEROSPIKE_NAMESPACE ?? 'test';
const storeEnv: Record<string, string> =
  AEROSPIKE === undefined
    ? { PROFILES: `sqlite:${storePath}` }
    : { PROFILES: `aerospike://${AEROSPIKE}/${aerospikeNamespace}`, AEROSPIKE_SET: aerospikeSet };
const storeName = AEROSPIKE === undefined ? 'embedded SQLite profile store' : `Aerospike profile store (${AEROSPIKE})`;
if (BASE_ROOT !== undefined) {
  if (AEROSPIKE !== undefined) throw new Error('BENCH_BASE_ROOT compares on the embedded store only (unset AEROSPIKE_HOSTS)');
  // The base tree's own store module makes the file, so the file is in the base's layout.
  const made = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createSqliteProfileStore } from ${JSON.stringify(join(BASE_ROOT, 'read-models/src/index.ts'))};
       const store = createSqliteProfileStore(${JSON.stringify(storePath)}); await store.migrate(); await store.close();`,
    ],
    { stdio: 'inherit' },
  );
  if (made.status !== 0) throw new Error(`the base tree could not make the store file (exit ${made.status})`);
}
{
  const store = await openProfileStore({
    aerospikeHosts: AEROSPIKE,
    aerospikeNamespace,
    aerospikeSet,
    path: storePath,
  });
  await store.migrate();
  await applyProfileTags(store, referenceTags(3, START, COOKIES * TAGS, COOKIES));
  await store.close();
}

const range = `${new Date(START).toISOString().slice(0, 23)}_${new Date(START + COOKIES * TAGS + 1000).toISOString().slice(0, 23)}`;
const paths = Array.from({ length: COOKIES }, (_, i) => `/user_profiles/cookie-${i}?time_range=${range}`);
const env = { PORT: '0', ...storeEnv, AGGREGATES: `sqlite:${join(dir, 'aggregates.sqlite')}` };
const profiling = (name: string): Record<string, string> => {
  const options = [
    ...(CPU_PROF === undefined ? [] : [`--cpu-prof --cpu-prof-dir=${CPU_PROF} --cpu-prof-name=${name}.cpuprofile`]),
    ...(NODE_OPTIONS === undefined ? [] : [NODE_OPTIONS]),
  ];
  return options.length === 0 ? {} : { NODE_OPTIONS: options.join(' ') };
};
const withProfile = (name: string) => ({ ...env, ...profiling(name) });
const api = await startProgram('query-api/src/main.ts', withProfile('query-api'));
const base = BASE_ROOT === undefined ? undefined : await startProgram('query-api/src/main.ts', withProfile('query-api-base'), BASE_ROOT);
// The query API as a primary with worker processes: only with stores other processes can share (Aerospike, PostgreSQL).
const multi =
  QUERY_WORKERS === undefined
    ? undefined
    : await startProgram('query-api/src/main.ts', {
        ...withProfile('query-api-workers'),
        AGGREGATES: AGGREGATES_URL as string,
        WORKERS: String(QUERY_WORKERS),
      });

// --- the answers: the bare server's bodies, and the base's answers compared byte for byte -----------
const { server: bare, answers } = await startBareCopy(api.url, paths, join(dir, 'answers.json'), profiling('bare'));
let tagsAnswered = 0;
let bytesAnswered = 0;
for (const [path, body] of answers) {
  const parsed = JSON.parse(body.toString()) as { views: unknown[]; buys: unknown[] };
  tagsAnswered += parsed.views.length + parsed.buys.length;
  bytesAnswered += body.length;
  if (base !== undefined) {
    const other = Buffer.from(await (await fetch(`${base.url}${path}`)).arrayBuffer());
    if (!other.equals(body)) throw new Error(`${path}: the base checkout answers other bytes`);
  }
}
const meanTags = round(tagsAnswered / COOKIES, 0);
const meanKiB = round(bytesAnswered / COOKIES / 1024);
console.log(
  `answers: ${meanTags} tags, ${meanKiB} KiB on average${base === undefined ? '' : '; the base checkout answers the same bytes'}`,
);

type Arm = { label: string; url: string; pid: number | undefined };
const arms: Arm[] = [
  { label: 'bare node:http, same bytes (ceiling)', url: bare.url, pid: bare.child.pid },
  { label: 'query API', url: api.url, pid: api.child.pid },
  ...(base === undefined ? [] : [{ label: 'query API, base checkout', url: base.url, pid: base.child.pid }]),
  ...(multi === undefined ? [] : [{ label: `query API, WORKERS=${QUERY_WORKERS}`, url: multi.url, pid: multi.child.pid }]),
];

interface Run extends GetLoadResult {
  arm: string;
  round: number;
  /** Cores the rest of the machine kept busy meanwhile: everything but the programs measured and this process (the load). */
  othersCores: number;
}
const ours = () => [api, base, multi, bare].reduce((n, p) => n + treeCpuSeconds(p?.child.pid), 0) + cpuSeconds(process.pid);
async function closedLoop(arm: Arm, seconds: number): Promise<GetLoadResult & { othersCores: number }> {
  const machine0 = cpuSnapshot();
  const ours0 = ours();
  const result = await driveGets(arm.url, paths, seconds, CONNECTIONS, arm.pid);
  const machine = cpuBetween(machine0, cpuSnapshot());
  const oursSeconds = ours() - ours0 + result.loadCpuSeconds;
  return { ...result, othersCores: round(Math.max(0, machine.machineCores - oursSeconds / machine.seconds), 2) };
}

/** One phase: every arm in closed loop, the rounds taking turns, then every arm at RATE open loop. */
async function measure(phase: string): Promise<{ runs: Run[]; atRate: Array<ProbeResult & { cpuMsPerAnswer: number }> }> {
  const runs: Run[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const order = r % 2 === 1 ? arms : [...arms].reverse();
    for (const arm of order) {
      const run = { arm: `${arm.label}${phase}`, round: r, ...(await closedLoop(arm, SECONDS)) };
      runs.push(run);
      console.log(
        `#${r} ${run.arm.padEnd(52)} ${String(run.perSecond).padStart(6)}/s  p50 ${run.p50} ms  p99 ${run.p99} ms  max ${run.max} ms  failed ${run.failed}  CPU ${run.cpuMsPerAnswer} ms/answer  others ${run.othersCores} cores`,
      );
    }
  }
  const atRate = [];
  for (const arm of arms) {
    const cpu0 = treeCpuSeconds(arm.pid);
    const [result] = await probe({
      url: arm.url,
      rate: RATE,
      seconds: RATE_SECONDS,
      targets: [{ label: `${arm.label}${phase}`, path: (i) => paths[i % paths.length] as string }],
    });
    const answered = result as NonNullable<typeof result>;
    // At a low rate every request wakes the server alone: what that costs it, next to the bare server's cost.
    const cpuMsPerAnswer = round((1000 * (treeCpuSeconds(arm.pid) - cpu0)) / Math.max(1, answered.ok), 3);
    atRate.push({ ...answered, cpuMsPerAnswer });
  }
  return { runs, atRate };
}

// A short warm-up for each (JIT, page cache), then the phases: the store left alone, then while it is written.
for (const arm of arms) await closedLoop(arm, 2);
const quiet = await measure('');
let written: { runs: Run[]; atRate: typeof quiet.atRate } = { runs: [], atRate: [] };
let writerApplied: number | undefined;
if (WRITE_RATE > 0) {
  const writer = await startProgram('bench/profile-writer.ts', { ...storeEnv, WRITE_RATE: String(WRITE_RATE) });
  let writerOut = '';
  writer.child.stdout?.on('data', (chunk: string) => {
    writerOut += chunk;
  });
  await new Promise((r) => setTimeout(r, 2000));
  written = await measure(', while writing');
  await writer.stop();
  writerApplied = Number(/"applied":(\d+)/.exec(writerOut)?.[1] ?? Number.NaN);
  console.log(`the writer applied ${writerApplied} tags`);
}
const runs = [...quiet.runs, ...written.runs];
const atRate = [...quiet.atRate, ...written.atRate];

await Promise.all([api.stop(), bare.stop(), base?.stop(), multi?.stop()]);
rmSync(dir, { recursive: true, force: true });

const mean = (label: string, key: 'perSecond' | 'p50' | 'p99' | 'max' | 'cpuMsPerAnswer' | 'othersCores') => {
  const xs = runs.filter((r) => r.arm === label).map((r) => r[key]);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
const phases = WRITE_RATE > 0 ? ['', ', while writing'] : [''];
const summary = phases.flatMap((phase) => {
  // Each phase against the ceiling measured in that phase.
  const ceiling = mean(`${arms[0]?.label}${phase}`, 'perSecond');
  return arms.map((a) => {
    const arm = `${a.label}${phase}`;
    return {
      arm,
      perSecond: Math.round(mean(arm, 'perSecond')),
      ofCeiling: round((100 * mean(arm, 'perSecond')) / ceiling),
      p50: round(mean(arm, 'p50')),
      p99: round(mean(arm, 'p99')),
      max: Math.max(...runs.filter((r) => r.arm === arm).map((r) => r.max)),
      cpuMsPerAnswer: round(mean(arm, 'cpuMsPerAnswer'), 3),
      othersCores: round(mean(arm, 'othersCores'), 2),
    };
  });
});
for (const s of summary)
  console.log(`${s.arm.padEnd(52)} ${s.perSecond}/s = ${s.ofCeiling} % of the ceiling, p99 ${s.p99} ms, max ${s.max} ms`);

const settings = `BENCH_COOKIES=${COOKIES}, BENCH_TAGS=${TAGS}, BENCH_CONNECTIONS=${CONNECTIONS}, BENCH_SECONDS=${SECONDS}, BENCH_ROUNDS=${ROUNDS}, BENCH_RATE=${RATE}, BENCH_RATE_SECONDS=${RATE_SECONDS}, BENCH_WRITE_RATE=${WRITE_RATE}${AEROSPIKE === undefined ? '' : `, AEROSPIKE_HOSTS=${AEROSPIKE}`}${QUERY_WORKERS === undefined ? '' : `, BENCH_QUERY_WORKERS=${QUERY_WORKERS}, BENCH_AGGREGATES=<PostgreSQL URL>`}`;
const markdown = `
## Profile reads against the bare ceiling (\`bench:profile-reads\`${AEROSPIKE === undefined ? '' : ' with `AEROSPIKE_HOSTS`'})

Reproduce: \`${AEROSPIKE === undefined ? '' : 'AEROSPIKE_HOSTS=<host:port> '}./run.sh bench:profile-reads\` (${settings}${BASE_ROOT === undefined ? '' : '; BENCH_BASE_ROOT=<dir>, made by `bash bench/base-tree.sh <base commit> <dir>`'}).
Machine: ${machineLine()}; the programs and the load generator share it, no Kafka or PostgreSQL. Run at ${new Date().toISOString()}.
Store: the reference stream over ${COOKIES} cookies, ${TAGS} tags each, applied to the ${storeName} through the
projector's entries; answers hold ${meanTags} tags (${meanKiB} KiB) on average. The ceiling is a bare node:http server sending
the very bytes the query API answered for each path${BASE_ROOT === undefined ? '' : '; the base checkout answered the same bytes'}.

${
  WRITE_RATE > 0
    ? `Every measurement twice: with the store left alone, and "while writing": a second process (bench/profile-writer.ts, in the
projector's place) applying ${WRITE_RATE.toLocaleString('en')} tags/s of other cookies to the same store in batches every 100 ms (${writerApplied?.toLocaleString('en')} tags in all).
Each phase's ratios are against the bare server measured in that phase.

`
    : ''
}Max rate: autocannon in a process of its own, closed loop, ${CONNECTIONS} connections, ${SECONDS} s per run, the arms taking turns, ${ROUNDS} rounds
(means; max is the largest). "Other processes" is the machine's CPU less the programs', the load generator's and the bench's.

| arm | answers/s | of the ceiling | p50 ms | p99 ms | max ms | server CPU ms / answer | other processes, cores busy |
|---|---:|---:|---:|---:|---:|---:|---:|
${summary.map((s) => `| ${s.arm} | ${s.perSecond.toLocaleString('en')} | ${s.ofCeiling} % | ${s.p50} | ${s.p99} | ${s.max} | ${s.cpuMsPerAnswer} | ${s.othersCores} |`).join('\n')}

Every run (the order of the arms reverses every other round):

| round | arm | answers/s | p99 ms | max ms | server CPU ms / answer | other processes, cores busy |
|---:|---|---:|---:|---:|---:|---:|
${runs.map((r) => `| ${r.round} | ${r.arm} | ${r.perSecond.toLocaleString('en')} | ${r.p99} | ${r.max} | ${r.cpuMsPerAnswer} | ${r.othersCores} |`).join('\n')}

At ${RATE} answers/s offered (\`bench/probe.ts\` in a process of its own, open loop, ${RATE_SECONDS} s each, latency from the scheduled
send time; the probe spins through its loop for the last 2 ms before each send, so that its timers' lateness is not counted):

| arm | p50 ms | p99 ms | p99.9 ms | max ms | failed | server CPU ms / answer |
|---|---:|---:|---:|---:|---:|---:|
${atRate.map((a) => `| ${a.label} | ${a.p50} | ${a.p99} | ${a.p999} | ${a.max} | ${a.failed} | ${a.cpuMsPerAnswer} |`).join('\n')}

Goals (issue 20): at max rate ≥ 10 % of the ceiling, p99 < 30 ms, nothing over 100 ms; at 100/s p99 < 3 ms.
`;
writeReport(AEROSPIKE === undefined ? 'profile-reads' : 'profile-reads-aerospike', markdown, {
  machine: machineLine(),
  settings,
  store: storeName,
  meanTags,
  meanKiB,
  writerApplied,
  runs,
  summary,
  atRate,
});
console.log(markdown);
process.exit(0);
