// bench:e2e — the whole system under the reference workload, scored by the tester (tester/):
//  1. a sustained run at BENCH_RATE (1000) tags/s for BENCH_SECONDS (600) with the full query mix,
//     every query in debug mode against the tester's oracle;
//  2. a step-up: BENCH_STEP_SECONDS (60) at each rate of BENCH_STEPS until a step fails, to find the
//     highest rate that still scores 100 % with no failed tag and every latency inside its budget.
// For each mode of BENCH_MODES: `stack` (Kafka, PostgreSQL, the embedded profile store — or Aerospike
// when AEROSPIKE_HOSTS is set), `embedded` (`scripts/start.ts` with no servers) and, on request, `bare`
// (bare node:http servers in the APIs' places: the floor of the two HTTP hops, deployBare). Every run gets a
// fresh deployment (topic, database, data folder) and 15 s of unscored warm-up traffic first.
//
//   ./run.sh bench:e2e     (BENCH_MODES=stack,embedded BENCH_RATE=1000 BENCH_SECONDS=600 BENCH_STEP_SECONDS=60
//                           BENCH_STEPS=2000,4000,6000,8000,10000,12000; empty: no step-up;
//                           BENCH_STORE_DIR=<folder> puts the read models' SQLite files there;
//                           BENCH_CPU_PROF=<folder> writes a V8 CPU profile of each program there, `stack` mode)
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Report, runTester } from '@usertags/tester';
import { createTestDatabase, deleteTopic, freePort, ProgramProcess, TEST_BROKERS, uniqueName, waitFor } from '@usertags/testkit';
import { CPU_PARTS, type CpuUse, cpuBetween, cpuSnapshot, ensureStack, machineLine, repo, startProgram, writeReport } from './support.ts';

type Mode = 'stack' | 'embedded' | 'bare';
const MODES = (process.env.BENCH_MODES ?? 'stack,embedded').split(',') as Mode[];
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 600);
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 60);
const STEPS = (process.env.BENCH_STEPS ?? '2000,4000,6000,8000,10000,12000').split(',').filter(Boolean).map(Number);
// Where the read models' SQLite files go (the profile store; with the embedded start also the aggregate store);
// unset: next to the rest of the deployment. Another filesystem separates their synced writes from the log's.
const STORE_DIR = process.env.BENCH_STORE_DIR || undefined;
const CPU_PROF = process.env.BENCH_CPU_PROF || undefined;
/** Node options that profile a program into CPU_PROF (written when it exits on SIGTERM). */
const profiled = (name: string): Record<string, string> =>
  CPU_PROF === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF} --cpu-prof-name=${name}-${Date.now()}.cpuprofile` };

/** A fresh folder for one deployment's read-model files, or undefined to keep them in `dir`. */
function storeDir(): string | undefined {
  if (STORE_DIR === undefined) return undefined;
  mkdirSync(STORE_DIR, { recursive: true });
  return mkdtempSync(join(STORE_DIR, 'bench-e2e-stores-'));
}
const WARMUP_SECONDS = 15;
const resultsDir = join(repo, 'docs/bench-results/e2e');

interface Deployment {
  readonly commandUrl: string;
  readonly queryUrl: string;
  stop(): Promise<void>;
}

async function deployStack(): Promise<Deployment> {
  const topic = uniqueName('bench-e2e');
  const database = await createTestDatabase('bench_e2e');
  const dir = mkdtempSync(join(tmpdir(), 'bench-e2e-'));
  const stores = storeDir();
  const common = {
    KAFKA_BROKERS: TEST_BROKERS.join(','),
    KAFKA_TOPIC: topic,
    DATABASE_URL: database.url,
    PROFILE_STORE_PATH: join(stores ?? dir, 'profiles.sqlite'),
    ...(process.env.AEROSPIKE_HOSTS ? { AEROSPIKE_SET: topic.replaceAll('-', '_') } : {}),
  };
  const programs = [
    new ProgramProcess('command-api', { ...common, PORT: '0', ...profiled('command-api') }),
    new ProgramProcess('projector', {
      ...common,
      ...profiled('projector'),
      PORT: '0',
      KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      AGGREGATES_GROUP_ID: `${topic}-aggregates`,
      PROFILES_GROUP_ID: `${topic}-profiles`,
    }),
    new ProgramProcess('query-api', { ...common, PORT: '0', ...profiled('query-api') }),
  ];
  const [commandUrl, , queryUrl] = (await Promise.all(programs.map((p) => p.ready(60_000)))) as [string, string, string];
  return {
    commandUrl,
    queryUrl,
    async stop() {
      // A profiled program is let exit on its own, which writes its profile.
      if (CPU_PROF !== undefined) {
        for (const p of programs) p.signal('SIGTERM');
        await Promise.all(programs.map((p) => p.waitForExit()));
      }
      await Promise.all(programs.map((p) => p.kill()));
      await deleteTopic(topic).catch(() => {});
      await deleteTopic(`${topic}.dead-letter`).catch(() => {});
      await database.drop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      if (stores !== undefined) rmSync(stores, { recursive: true, force: true });
    },
  };
}

/** Waits until every one of `urls` answers /ready with a 2xx. */
async function allReady(urls: readonly string[], timeoutMs: number, what: string): Promise<void> {
  const ready = (u: string) =>
    fetch(`${u}/ready`).then(
      (r) => r.ok,
      () => false,
    );
  await waitFor(
    async () => (await Promise.all(urls.map(ready))).every(Boolean),
    timeoutMs,
    () => what,
  );
}

async function deployEmbedded(): Promise<Deployment> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-e2e-embedded-'));
  const stores = storeDir();
  const ports = { command: await freePort(), query: await freePort(), projector: await freePort() };
  const child: ChildProcess = spawn(process.execPath, [join(repo, 'scripts/start.ts')], {
    env: {
      ...process.env,
      DATA_DIR: dir,
      COMMAND_API_PORT: String(ports.command),
      QUERY_API_PORT: String(ports.query),
      PROJECTOR_PORT: String(ports.projector),
      LOG_LEVEL: 'warn',
      AEROSPIKE_HOSTS: '',
      ...(stores === undefined
        ? {}
        : { PROFILE_STORE_PATH: join(stores, 'profiles.sqlite'), DATABASE_URL: `sqlite:${join(stores, 'aggregates.sqlite')}` }),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const urls = [ports.command, ports.query, ports.projector].map((p) => `http://127.0.0.1:${p}`);
  await allReady(urls, 60_000, 'the embedded system starts');
  return {
    commandUrl: urls[0] as string,
    queryUrl: urls[1] as string,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
      if (stores !== undefined) rmSync(stores, { recursive: true, force: true });
    },
  };
}

/**
 * The floor of the two HTTP hops under the very same traffic: bare node:http servers in the APIs' places — 204 to
 * every tag, and every query answered with the answer the tester sent along with it (debug mode), so the bytes are
 * those of a correct query API. No Kafka, no projector, no store: what is left is what node:http and the kernel cost.
 */
async function deployBare(): Promise<Deployment> {
  // The argument names the program a bare server stands for, so that its CPU is counted as that program's.
  const command = await startProgram('bench/bare-server.ts', { PORT: '0' }, repo, ['command-api']);
  const query = await startProgram('bench/bare-server.ts', { PORT: '0', BARE_ECHO: '1' }, repo, ['query-api']);
  return {
    commandUrl: command.url,
    queryUrl: query.url,
    async stop() {
      await Promise.all([command.stop(), query.stop()]);
    },
  };
}

interface Outcome {
  readonly mode: string;
  readonly rate: number;
  readonly seconds: number;
  readonly report: Report;
  readonly passed: boolean;
  readonly why: string[];
  /** Where the machine's CPU went while the scored run sent (warm-up excluded). */
  readonly cpu: CpuUse;
}

/** A run passes when every checked query is correct, no tag failed, and nothing was dropped or timed out. */
function judgeRun(report: Report): string[] {
  const why: string[] = [];
  for (const kind of ['profiles', 'aggregates'] as const) {
    const score = report.correctness[kind];
    if (score.correctPercent !== null && score.correctPercent < 100) why.push(`${kind} ${score.correctPercent.toFixed(2)} %`);
  }
  for (const [name, e] of Object.entries(report.endpoints)) {
    if (e.timeouts + e.errors + e.non2xx + e.dropped > 0)
      why.push(`${name}: ${e.timeouts} timeouts, ${e.errors} errors, ${e.non2xx} non-2xx, ${e.dropped} dropped`);
  }
  if (report.workload.maxSchedulerLagMs > 1000) why.push(`the tester fell ${report.workload.maxSchedulerLagMs} ms behind its schedule`);
  return why;
}

let runNumber = 0;
async function scoredRun(mode: Mode, rate: number, seconds: number, keep: boolean): Promise<Outcome> {
  const deployment = mode === 'stack' ? await deployStack() : mode === 'embedded' ? await deployEmbedded() : await deployBare();
  try {
    runNumber++;
    // Warm-up: JIT, connections and caches, on event times of their own, not scored.
    await runTester({
      commandUrl: deployment.commandUrl,
      queryUrl: deployment.queryUrl,
      rate,
      durationS: WARMUP_SECONDS,
      seed: 1000 + runNumber,
      startTime: '2021-01-01T00:00:00.000Z',
      progress: 'never',
    });
    const out = keep ? join(resultsDir, `${mode}-${rate}`) : undefined;
    if (out !== undefined) mkdirSync(out, { recursive: true });
    const before = cpuSnapshot();
    const report = await runTester({
      commandUrl: deployment.commandUrl,
      queryUrl: deployment.queryUrl,
      rate,
      durationS: seconds,
      seed: 7,
      startTime: '2022-03-01T00:00:00.000Z',
      ...(out === undefined ? {} : { out }),
    });
    const cpu = cpuBetween(before, cpuSnapshot());
    const why = judgeRun(report);
    const c = report.correctness;
    console.log(
      `${mode} ${rate}/s for ${seconds} s: profiles ${c.profiles.correctPercent ?? '-'} % of ${c.profiles.checked}, aggregates ${c.aggregates.correctPercent ?? '-'} % of ${c.aggregates.checked}; ${why.length === 0 ? 'PASS' : `FAIL (${why.join('; ')})`}`,
    );
    console.log(`  CPU: machine ${cpu.machineCores} cores; ${CPU_PARTS.map((p) => `${p} ${cpu.cores[p]}`).join(', ')}`);
    return { mode, rate, seconds, report, passed: why.length === 0, why, cpu };
  } finally {
    await deployment.stop();
  }
}

ensureStack();
console.log(
  `bench:e2e on ${machineLine()}: modes ${MODES.join(', ')}; ${RATE}/s for ${SECONDS} s, then steps of ${STEP_SECONDS} s at ${STEPS.join(', ')}`,
);
const sustained: Outcome[] = [];
const highest: Array<{ mode: string; rate: number | null; steps: Outcome[] }> = [];
for (const mode of MODES) {
  sustained.push(await scoredRun(mode, RATE, SECONDS, true));
  const steps: Outcome[] = [];
  for (const rate of STEPS) {
    const step = await scoredRun(mode, rate, STEP_SECONDS, false);
    steps.push(step);
    if (!step.passed) break;
  }
  const passing = steps.filter((s) => s.passed).map((s) => s.rate);
  highest.push({
    mode,
    rate: passing.length === steps.length && steps.length > 0 ? Math.max(...passing) : (passing.at(-1) ?? null),
    steps,
  });
}

const ms = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toFixed(1));
const pct = (n: number | null) => (n === null ? '–' : `${n.toFixed(2)}`);
const modeName = (mode: string) =>
  mode === 'bare'
    ? "bare node:http in the APIs' places (the HTTP floor)"
    : (mode === 'stack' ? `Kafka + PostgreSQL + ${process.env.AEROSPIKE_HOSTS ? 'Aerospike' : 'embedded profiles'}` : 'embedded `start`') +
      (STORE_DIR === undefined ? '' : ` (read models in ${STORE_DIR})`);
const sustainedRows = sustained
  .map((o) => {
    const e = o.report.endpoints;
    const c = o.report.correctness;
    return `| ${modeName(o.mode)} | ${o.rate}/s × ${o.seconds} s | ${pct(c.profiles.correctPercent)} (${c.profiles.checked.toLocaleString('en')}) | ${pct(c.aggregates.correctPercent)} (${c.aggregates.checked.toLocaleString('en')}) | ${e.tags.ok.toLocaleString('en')} / ${e.tags.issued.toLocaleString('en')} | ${ms(e.tags.latencyMs.p50)} / ${ms(e.tags.latencyMs.p99)} | ${ms(e.profiles.latencyMs.p50)} / ${ms(e.profiles.latencyMs.p99)} | ${ms(e.aggregates.latencyMs.p99)} | ${o.passed ? 'pass' : o.why.join('; ')} | [report](bench-results/e2e/${o.mode}-${o.rate}/report.md), [charts](bench-results/e2e/${o.mode}-${o.rate}/report.html) |`;
  })
  .join('\n');
const stepRows = highest
  .flatMap((h) =>
    h.steps.map((s) => {
      const e = s.report.endpoints;
      const c = s.report.correctness;
      return `| ${modeName(h.mode)} | ${s.rate}/s | ${pct(c.profiles.correctPercent)} | ${pct(c.aggregates.correctPercent)} | ${ms(e.tags.latencyMs.p99)} | ${ms(e.profiles.latencyMs.p99)} | ${s.passed ? 'pass' : s.why.join('; ')} |`;
    }),
  )
  .join('\n');
const cpuRows = [
  ...sustained.map((o) => ({ o, load: `${o.rate}/s × ${o.seconds} s` })),
  ...highest.flatMap((h) => h.steps.map((o) => ({ o, load: `${o.rate}/s step` }))),
]
  .map(({ o, load }) => {
    const u = o.cpu;
    const perTag = Math.round((u.machineCores / o.rate) * 1e6);
    return `| ${modeName(o.mode)} | ${load} | ${u.machineCores.toFixed(2)} | ${perTag} | ${CPU_PARTS.map((p) => u.cores[p].toFixed(2)).join(' | ')} |`;
  })
  .join('\n');
const markdown = `
## End to end (\`bench:e2e\`)

Reproduce: \`./run.sh bench:e2e\` (BENCH_MODES=${MODES.join(',')}, BENCH_RATE=${RATE}, BENCH_SECONDS=${SECONDS}, BENCH_STEP_SECONDS=${STEP_SECONDS}, BENCH_STEPS=${STEPS.join(',')}${STORE_DIR === undefined ? '' : `, BENCH_STORE_DIR=${STORE_DIR}`}).
Machine: ${machineLine()}; everything on it — Kafka, PostgreSQL, the three programs and the tester. Run at ${new Date().toISOString()}.
The tester (\`tester/\`, docs/tester.md) sends the reference workload open loop: one profile query per 10 tags and one aggregates
query per 1,000, as POST in debug mode with its own expected answer; budgets 200 ms (tags, profiles) and 60 s (aggregates).
Each run is a fresh deployment after ${WARMUP_SECONDS} s of unscored warm-up. Correct % of the checked queries (count in brackets).

| system | load | profiles correct % | aggregates correct % | tags 2xx / sent | tag p50 / p99 ms | profile p50 / p99 ms | aggregates p99 ms | verdict | detail |
|---|---|---:|---:|---:|---:|---:|---:|---|---|
${sustainedRows}

Step-up, ${STEP_SECONDS} s per rate, stopping at the first failing step:

| system | rate | profiles % | aggregates % | tag p99 ms | profile p99 ms | verdict |
|---|---:|---:|---:|---:|---:|---|
${stepRows}

Where the two cores went while each scored run sent (cores busy on average, from /proc; the embedded \`start\`'s
event log and stores live inside its three programs; "other" is everything else on the machine):

| system | load | machine | µs of CPU per tag | command API | projector | query API | Kafka | PostgreSQL | tester | other |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${cpuRows}

Highest rate with 100 % correct and nothing failed: ${highest.map((h) => `${modeName(h.mode)} **${h.rate === null ? 'none of the steps' : `${h.rate.toLocaleString('en')} tags/s`}**`).join('; ')}.

Goals (issue 7): ${RATE}/s for 10 minutes scores 100.00 / 100.00 with zero failed tag requests; the highest sustainable rate ≥ 10,000 tags/s.
`;
writeReport('e2e', markdown, {
  machine: machineLine(),
  sustained: sustained.map((o) => ({
    mode: o.mode,
    rate: o.rate,
    passed: o.passed,
    why: o.why,
    correctness: o.report.correctness,
    cpu: o.cpu,
  })),
  steps: highest.map((h) => ({
    mode: h.mode,
    highest: h.rate,
    steps: h.steps.map((s) => ({ rate: s.rate, passed: s.passed, why: s.why, correctness: s.report.correctness, cpu: s.cpu })),
  })),
});
console.log(markdown);
process.exit(0);
