// Tests both APIs against their own OpenAPI documents with schemathesis
// (`./run.sh test:api`; scripts/schemathesis.sh installs the pinned version
// and runs this). It starts the command API, the projector and the query API
// with the embedded defaults (a temporary data directory, ports the programs
// pick, no Kafka or PostgreSQL), runs schemathesis once per API with every
// check, positive and negative data, a fixed seed and a bounded number of
// examples, then prints what was sent and answered per operation, and exits
// non-zero when schemathesis found any failure or error.
//
// Arguments are passed on to `st run` (e.g. `./run.sh test:api --continue-on-failure`).
// Settings (environment): SCHEMATHESIS_SEED (20261203), SCHEMATHESIS_MAX_EXAMPLES
// per operation and mode (1000), SCHEMATHESIS_WORKERS (1: Python 3.11.7's ast
// module is not thread-safe, and hypothesis parses with it), SCHEMATHESIS_TIMEOUT_S
// for both runs (240; a run cut short fails), SCHEMATHESIS_REPORT_DIR
// (.scratch/schemathesis: NDJSON and JUnit reports of the last run).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openAggregateStore } from '@usertags/read-models';
import { metricValue, ProgramProcess } from '@usertags/testkit';

const root = resolve(import.meta.dirname, '..');
const st = process.env.SCHEMATHESIS_BIN;
if (st === undefined) {
  console.error('SCHEMATHESIS_BIN is not set: run this through scripts/schemathesis.sh (./run.sh test:api)');
  process.exit(2);
}
const seed = process.env.SCHEMATHESIS_SEED ?? '20261203';
const maxExamples = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? '1000';
const workers = process.env.SCHEMATHESIS_WORKERS ?? '1';
/** Both runs together: 1.5–2 min on the 2-core machine at 1000 examples. */
const deadline = Date.now() + Number(process.env.SCHEMATHESIS_TIMEOUT_S ?? '240') * 1000;
const reportRoot = resolve(root, process.env.SCHEMATHESIS_REPORT_DIR ?? '.scratch/schemathesis');
/** Longest /aggregates range the query API serves; the hooks cut generated ranges to it. */
const aggregatesMaxMinutes = '1440';

const dataDir = mkdtempSync(join(tmpdir(), 'usertags-schemathesis-'));
const storage = {
  EVENT_LOG_PATH: join(dataDir, 'events.sqlite'),
  DATABASE_URL: `sqlite:${join(dataDir, 'aggregates.sqlite')}`,
  PROFILE_STORE_PATH: join(dataDir, 'profiles.sqlite'),
};
const aggregateStore = openAggregateStore(storage.DATABASE_URL);
await aggregateStore.migrate();
await aggregateStore.close();

const programs = [
  new ProgramProcess('command-api', { EVENT_LOG_PATH: storage.EVENT_LOG_PATH, PORT: '0' }),
  // The projector fills both read models, so the profile the examples ask for holds the example tags and
  // aggregates answers count what was sent. The tags have times in any year; retention follows a watermark
  // that needs RETENTION_CONFIRMATIONS (1,000) tags a partition at least as new as a time (docs/aggregates.md),
  // more than a run sends, so no horizon turns a generated range into a 400 that no schema could foretell.
  new ProgramProcess('projector', { ...storage, PORT: '0' }),
  new ProgramProcess('query-api', { ...storage, PORT: '0', AGGREGATES_MAX_MINUTES: aggregatesMaxMinutes }),
];

const UNLISTED = 'other methods, listed paths';

interface OperationCounts {
  requests: number;
  positive: number;
  negative: number;
  statuses: Map<number, number>;
  failures: number;
}

interface RunResult {
  exitCode: number | null;
  timedOut: boolean;
  seconds: number;
  operations: Map<string, OperationCounts>;
  checkFailures: Map<string, number>;
  errors: number;
  ranges: { seen: number; reordered: number; shortened: number } | undefined;
}

/** Runs `st run` against one program's document; its own output goes to the terminal as it comes. */
function runSchemathesis(name: string, baseUrl: string): Promise<RunResult> {
  const reportDir = join(reportRoot, name);
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const rangeStats = join(reportDir, 'ranges.json');
  const args = [
    '--config-file',
    join(root, 'scripts/schemathesis/schemathesis.toml'),
    'run',
    `${baseUrl}/openapi.json`,
    '--checks',
    'all',
    '--mode',
    'all',
    '--seed',
    seed,
    '--max-examples',
    maxExamples,
    '--workers',
    workers,
    '--generation-database',
    'none',
    // Hypothesis's warning that drawing data is slow would make the result depend on the machine's load.
    '--suppress-health-check',
    'too_slow',
    '--request-timeout',
    '10',
    '--no-color',
    '--report',
    'ndjson,junit',
    '--report-dir',
    reportDir,
    // Every case is run even after a failure, so the counts are those of the whole run.
    '--continue-on-failure',
    ...process.argv.slice(2),
  ];
  console.log(`\n== schemathesis: ${name} ==\n$ st ${args.join(' ')}`);
  const started = performance.now();
  return new Promise((resolvePromise) => {
    const child = spawn(st as string, args, {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        SCHEMATHESIS_HOOKS: join(root, 'scripts/schemathesis/hooks.py'),
        SCHEMATHESIS_RANGE_STATS: rangeStats,
        AGGREGATES_MAX_MINUTES: aggregatesMaxMinutes,
      },
    });
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      },
      Math.max(0, deadline - Date.now()),
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      resolvePromise({ exitCode: code, timedOut, seconds, ...readReport(reportDir), ranges: readJson(rangeStats) });
    });
  });
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

interface ScenarioFinished {
  recorder: {
    label: string;
    cases?: Record<string, { value: { meta?: { generation?: { mode?: string } } } }>;
    checks?: Record<string, Array<{ name: string; status: string }>>;
    interactions?: Record<string, { request: { method: string }; response?: { status_code: number } | null }>;
  };
}

/** Counts from schemathesis's NDJSON event stream: every request it sent, by operation, mode and answer. */
function readReport(reportDir: string): Pick<RunResult, 'operations' | 'checkFailures' | 'errors'> {
  const operations = new Map<string, OperationCounts>();
  const checkFailures = new Map<string, number>();
  let errors = 0;
  const file = readdirSync(reportDir).find((f) => f.endsWith('.ndjson'));
  if (file === undefined) return { operations, checkFailures, errors };
  for (const line of readFileSync(join(reportDir, file), 'utf8').split('\n')) {
    if (line.length === 0) continue;
    const event = JSON.parse(line) as Record<string, unknown>;
    if ('NonFatalError' in event || 'FatalError' in event) errors++;
    const scenario = event.ScenarioFinished as ScenarioFinished | undefined;
    if (scenario === undefined) continue;
    const { label, cases = {}, checks = {}, interactions = {} } = scenario.recorder;
    for (const [id, interaction] of Object.entries(interactions)) {
      // Requests with a method the document does not list for the path (TRACE /health) are counted together.
      const key = label.startsWith(`${interaction.request.method} `) ? label : UNLISTED;
      let counts = operations.get(key);
      if (counts === undefined) {
        counts = { requests: 0, positive: 0, negative: 0, statuses: new Map(), failures: 0 };
        operations.set(key, counts);
      }
      counts.requests++;
      const mode = cases[id]?.value.meta?.generation?.mode;
      if (mode === 'positive') counts.positive++;
      else if (mode === 'negative') counts.negative++;
      const status = interaction.response?.status_code;
      if (status !== undefined) counts.statuses.set(status, (counts.statuses.get(status) ?? 0) + 1);
      for (const check of checks[id] ?? []) {
        if (check.status !== 'failure') continue;
        counts.failures++;
        checkFailures.set(check.name, (checkFailures.get(check.name) ?? 0) + 1);
      }
    }
  }
  return { operations, checkFailures, errors };
}

function printSummary(name: string, result: RunResult): void {
  const rows = [...result.operations.entries()].sort(([a], [b]) => (a === UNLISTED ? 1 : b === UNLISTED ? -1 : a.localeCompare(b)));
  const width = Math.max(...rows.map(([key]) => key.length), 9);
  console.log(`\n== schemathesis summary: ${name} (${result.seconds.toFixed(1)} s, exit ${result.exitCode}) ==`);
  console.log(`${'operation'.padEnd(width)}  requests  positive  negative  failed  answers`);
  for (const [key, c] of rows) {
    const answers = [...c.statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ');
    console.log(
      `${key.padEnd(width)}  ${String(c.requests).padStart(8)}  ${String(c.positive).padStart(8)}  ${String(c.negative).padStart(8)}  ${String(c.failures).padStart(6)}  ${answers}`,
    );
  }
  if (result.ranges !== undefined) {
    console.log(
      `time_range: ${result.ranges.seen} well-formed ranges sent, ${result.ranges.reordered} put in order, ${result.ranges.shortened} cut to ${aggregatesMaxMinutes} minutes (scripts/schemathesis/hooks.py)`,
    );
  }
  if (result.checkFailures.size > 0) {
    console.log(`failed checks: ${[...result.checkFailures.entries()].map(([check, n]) => `${check} ${n}`).join(', ')}`);
  }
}

const count = (result: RunResult, key: string, status: number) => result.operations.get(key)?.statuses.get(status) ?? 0;

let exitCode = 0;
try {
  const [commandUrl, projectorUrl, queryUrl] = await Promise.all(programs.map((p) => p.ready(60_000)));
  const command = await runSchemathesis('command-api', commandUrl as string);
  printSummary('command API', command);
  const appended = await metricValue(commandUrl as string, 'user_tags_appended_total');
  // The query API is tested once the projector has applied what the command API appended.
  const projectedBy = Date.now() + 30_000;
  while (
    Date.now() < projectedBy &&
    (await metricValue(projectorUrl as string, 'projector_events_applied_total{projection="profiles"}')) < appended
  ) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const query = await runSchemathesis('query-api', queryUrl as string);
  printSummary('query API', query);

  const tags = command.operations.get('POST /user_tags');
  const accepted = count(command, 'POST /user_tags', 204);
  const answered = ['GET /user_profiles/{cookie}', 'POST /user_profiles/{cookie}', 'GET /aggregates', 'POST /aggregates'].map(
    (key) => `${key} ${count(query, key, 200)}/${query.operations.get(key)?.requests ?? 0}`,
  );
  console.log('\n== schemathesis: both APIs ==');
  console.log(
    `tags accepted (204): ${accepted} of ${tags?.requests ?? 0} POST /user_tags (${tags?.positive ?? 0} schema-valid); the command API counted ${appended} appended`,
  );
  console.log(`queries answered 200 of sent: ${answered.join('; ')}`);
  console.log(`reports: ${reportRoot}`);

  for (const [name, result] of [
    ['command API', command],
    ['query API', query],
  ] as const) {
    if (result.timedOut) {
      console.error(`schemathesis on the ${name} did not finish in time (SCHEMATHESIS_TIMEOUT_S)`);
      exitCode = 1;
    } else if (result.exitCode !== 0) {
      console.error(`schemathesis on the ${name} failed (exit ${result.exitCode})`);
      exitCode = 1;
    }
  }
  for (const program of programs) {
    const errors = program.loggedAt('error');
    if (errors.length > 0) {
      console.error(`${program.name} logged ${errors.length} errors, the first: ${errors[0]}`);
      exitCode = 1;
    }
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await Promise.all(programs.map((p) => p.kill()));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
