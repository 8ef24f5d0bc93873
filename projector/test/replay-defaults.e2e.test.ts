import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  aggregateStream,
  aggregatesQueryString,
  allQueryShapes,
  expectedAggregates,
  freePort,
  metricValue,
  postTag,
  waitFor,
} from '@usertags/testkit';

// `./run.sh projector replay all` right after `./run.sh start`, with no settings but DATA_DIR: the
// replay CLI takes start's embedded defaults (runtime/src/local-defaults.ts). A log or store it cannot
// reach or find is one line naming it and its setting, exit code 1, in bounded time.
const repo = resolve(import.meta.dirname, '../..');
const START = Date.UTC(2022, 2, 22, 12, 0);
const MINUTES = 3;
const tags = aggregateStream({ seed: 21, count: 600, startMs: START, minutes: MINUTES });
const STORE_SETTINGS = ['DATABASE_URL', 'AEROSPIKE_HOSTS', 'EVENT_LOG_PATH', 'PROFILE_STORE_PATH', 'KAFKA_BROKERS', 'DATA_DIR'];

/** The test's environment without any setting that names a log or a store. */
function bareEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !STORE_SETTINGS.includes(k)) env[k] = v;
  return env;
}

/** `node projector/src/replay.ts replay <args>` as `./run.sh projector replay <args>` runs it. */
function replay(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [join(repo, 'projector/src/replay.ts'), 'replay', ...args],
      { cwd: repo, env: { ...bareEnv(), ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/** `./run.sh start` in `dataDir` on free ports; resolves once all three programs answer /ready. */
async function start(dataDir: string) {
  const ports = { command: await freePort(), query: await freePort(), projector: await freePort() };
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [join(repo, 'scripts/start.ts')], {
    cwd: repo,
    env: {
      ...bareEnv(),
      DATA_DIR: dataDir,
      COMMAND_API_PORT: String(ports.command),
      QUERY_API_PORT: String(ports.query),
      PROJECTOR_PORT: String(ports.projector),
      FLUSH_MAX_DELAY_MS: '100',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout, child.stderr]) {
    s?.setEncoding('utf8');
    s?.on('data', (chunk: string) => output.push(chunk));
  }
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = (port: number) =>
    fetch(`http://127.0.0.1:${port}/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
  try {
    await waitFor(
      async () => (await Promise.all(Object.values(ports).map(ready))).every(Boolean),
      60_000,
      () => `start gets ready:\n${output.join('')}`,
    );
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
  return {
    command: `http://127.0.0.1:${ports.command}`,
    query: `http://127.0.0.1:${ports.query}`,
    projector: `http://127.0.0.1:${ports.projector}`,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function answers(query: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const q of allQueryShapes(START, START + MINUTES * 60_000)) {
    const res = await fetch(`${query}/aggregates?${aggregatesQueryString(q)}`);
    assert.equal(res.status, 200);
    out.push(await res.json());
  }
  for (const cookie of ['cookie-1', 'cookie-7', 'cookie-250']) {
    const range = `${new Date(START).toISOString().slice(0, -1)}_${new Date(START + MINUTES * 60_000).toISOString().slice(0, -1)}`;
    const res = await fetch(`${query}/user_profiles/${cookie}?time_range=${range}&limit=200`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { views: unknown[]; buys: unknown[] };
    // Tags of one millisecond may come in either order.
    out.push([body.views, body.buys].map((xs) => xs.map((x) => JSON.stringify(x)).sort()));
  }
  return out;
}

/** One line on stderr, no stack trace, exit code 1, within `boundMs`. */
function assertOneLineFailure(result: Awaited<ReturnType<typeof replay>>, mentions: RegExp, boundMs: number): void {
  const lines = result.stderr.trim().split('\n');
  assert.equal(result.code, 1, `exit code 1: ${result.stderr}`);
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0] as string, mentions);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(result.stdout, '', 'no summary');
  assert.ok(result.ms < boundMs, `answered within ${boundMs} ms (took ${result.ms})`);
}

describe('projector replay with the defaults of start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'usertags-replay-defaults-'));
  const empty = mkdtempSync(join(tmpdir(), 'usertags-replay-empty-'));
  let before1: unknown[];

  before(async () => {
    const system = await start(dataDir);
    for (let i = 0; i < tags.length; i += 100) {
      const statuses = await Promise.all(tags.slice(i, i + 100).map((t) => postTag(system.command, t).then((r) => r.status)));
      assert.deepEqual([...new Set(statuses)], [204]);
    }
    const want = allQueryShapes(START, START + MINUTES * 60_000).map((q) => expectedAggregates(tags, q));
    await waitFor(
      async () =>
        (await metricValue(system.projector, 'projector_events_applied_total{projection="profiles"}')) >= tags.length &&
        JSON.stringify((await answers(system.query)).slice(0, want.length)) === JSON.stringify(want),
      60_000,
      () => 'the read models hold every tag',
    );
    before1 = await answers(system.query);
    assert.equal(await system.stop(), 0);
  });

  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  });

  it('`replay all` with only DATA_DIR set rebuilds both read models from the files start wrote', async () => {
    const result = await replay(['all'], { DATA_DIR: dataDir });
    assert.equal(result.code, 0, result.stderr);
    const summaries = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { projection: string; from: number; to: number; events: number });
    assert.deepEqual(
      summaries.map((s) => [s.projection, s.from, s.to]),
      [
        ['aggregates', 1, 2],
        ['profiles', 1, 2],
      ],
    );
    for (const s of summaries) assert.equal(s.events, tags.length, `${s.projection} replayed every tag of the embedded log`);
    assert.ok(existsSync(join(dataDir, 'profiles.sqlite.v2')), 'the new profile version is in DATA_DIR');

    // The system started again on the same folder answers as before, from the new versions.
    const system = await start(dataDir);
    try {
      assert.deepEqual(await answers(system.query), before1);
    } finally {
      await system.stop();
    }
  });

  it('a DATA_DIR where nothing was started is one line and a non-zero exit', async () => {
    const result = await replay(['all'], { DATA_DIR: empty });
    assertOneLineFailure(
      result,
      /^projector replay: no event log at .*events\.sqlite \(EVENT_LOG_PATH\).*run \.\/run\.sh start first/,
      15_000,
    );
  });

  it('an unreachable PostgreSQL is one line naming DATABASE_URL, no stack trace, exit code 1', async () => {
    const result = await replay(['aggregates'], { DATA_DIR: dataDir, DATABASE_URL: 'postgres://x:y@127.0.0.1:1/db' });
    assertOneLineFailure(
      result,
      /^projector replay: cannot reach the aggregate store, PostgreSQL at 127\.0\.0\.1:1\/db \(DATABASE_URL\)/,
      20_000,
    );
  });

  it('an unreachable Kafka (--stack) is one line naming KAFKA_BROKERS, no stack trace, exit code 1', async () => {
    const result = await replay(['all', '--stack'], { DATA_DIR: empty, KAFKA_BROKERS: '127.0.0.1:1' });
    assertOneLineFailure(result, /^projector replay: cannot reach the event log, Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/, 20_000);
  });
});
