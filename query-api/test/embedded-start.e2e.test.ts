import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { UserTagInput } from '@usertags/contracts';
import {
  aggregateStream,
  aggregatesQueryString,
  allQueryShapes,
  expectedAggregates,
  expectedProfile,
  freePort,
  metricValue,
  postTag,
  waitFor,
} from '@usertags/testkit';

// `./run.sh start` with its embedded defaults, as a user runs it: one command, data in a folder,
// no Kafka, PostgreSQL or Aerospike. Every address of a server is pointed at a closed port, so a
// program that reached for one would fail to start or to answer.
const repo = resolve(import.meta.dirname, '../..');
const START = Date.UTC(2022, 2, 22, 12, 0);
const MINUTES = 4;
const tags = aggregateStream({ seed: 5, count: 2000, startMs: START, minutes: MINUTES });
const ports = { command: await freePort(), query: await freePort(), projector: await freePort() };
const urls = {
  command: `http://127.0.0.1:${ports.command}`,
  query: `http://127.0.0.1:${ports.query}`,
  projector: `http://127.0.0.1:${ports.projector}`,
};

class System {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  constructor(dataDir: string) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    for (const k of ['DATABASE_URL', 'AEROSPIKE_HOSTS', 'EVENT_LOG_PATH', 'PROFILE_STORE_PATH']) delete env[k];
    this.child = spawn(process.execPath, [join(repo, 'scripts/start.ts')], {
      env: {
        ...env,
        DATA_DIR: dataDir,
        COMMAND_API_PORT: String(ports.command),
        QUERY_API_PORT: String(ports.query),
        PROJECTOR_PORT: String(ports.projector),
        KAFKA_BROKERS: '127.0.0.1:1',
        FLUSH_MAX_DELAY_MS: '100',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [this.child.stdout, this.child.stderr]) {
      s?.setEncoding('utf8');
      s?.on('data', (chunk: string) => this.output.push(chunk));
    }
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }
  /**
   * Waits, as a client would, until `start` has printed the three URLs and "ready", then asks each
   * URL once, at once: the statuses of its /ready (0: refused or no answer).
   */
  async printed(): Promise<number[]> {
    await waitFor(
      () => {
        const printed = this.output.join('');
        return Object.values(urls).every((u) => printed.includes(u)) || this.child.exitCode !== null;
      },
      60_000,
      () => `start prints the three URLs:\n${this.output.join('')}`,
    );
    const answers = await Promise.all(
      Object.values(urls).map((u) =>
        fetch(`${u}/ready`).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    return answers;
  }
  /** Waits until all three answer /ready (so that one finding does not hide the others). */
  async ready(): Promise<void> {
    await waitFor(
      async () => {
        const answers = await Promise.all(
          Object.values(urls).map((u) =>
            fetch(`${u}/ready`).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        return answers.every((s) => s === 200);
      },
      30_000,
      () => `all three programs are ready:\n${this.output.join('')}`,
    );
  }
  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Tags of one millisecond may be listed in either order; compare them in a fixed one. */
function canonical(answer: { views: UserTagInput[]; buys: UserTagInput[] }) {
  const order = (xs: UserTagInput[]) =>
    [...xs].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return { views: order(answer.views), buys: order(answer.buys) };
}

async function snapshot(): Promise<{ aggregates: unknown[]; profiles: unknown[] }> {
  const aggregates: unknown[] = [];
  for (const q of allQueryShapes(START, START + MINUTES * 60_000)) {
    const res = await fetch(`${urls.query}/aggregates?${aggregatesQueryString(q)}`);
    assert.equal(res.status, 200);
    aggregates.push(await res.json());
  }
  const profiles: unknown[] = [];
  for (const cookie of ['cookie-1', 'cookie-7', 'cookie-250', 'nobody']) {
    const range = `${new Date(START).toISOString().slice(0, -1)}_${new Date(START + MINUTES * 60_000).toISOString().slice(0, -1)}`;
    const res = await fetch(`${urls.query}/user_profiles/${cookie}?time_range=${range}&limit=50`);
    assert.equal(res.status, 200);
    profiles.push(await res.json());
  }
  return { aggregates, profiles };
}

describe('`start` with the embedded defaults: the whole system with no servers', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'usertags-start-'));
  let system: System;
  let first: Awaited<ReturnType<typeof snapshot>>;
  let answersOnPrint: number[];

  before(async () => {
    system = new System(dataDir);
    answersOnPrint = await system.printed();
    await system.ready();
    for (let i = 0; i < tags.length; i += 100) {
      const statuses = await Promise.all(tags.slice(i, i + 100).map((t) => postTag(urls.command, t).then((r) => r.status)));
      assert.deepEqual([...new Set(statuses)], [204]);
    }
    for (const projection of ['aggregates', 'profiles']) {
      await waitFor(
        async () => (await metricValue(urls.projector, `projector_events_applied_total{projection="${projection}"}`)) >= tags.length,
        60_000,
        () => `the ${projection} projection applies every tag:\n${system.output.join('')}`,
      );
    }
  });

  after(async () => {
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs and "ready" only once every program answers: a request sent at once is answered, not refused', () => {
    assert.deepEqual(answersOnPrint, [200, 200, 200], `each /ready asked right after the URLs were printed:\n${system.output.join('')}`);
    const printed = system.output.join('');
    const lines = printed.split('\n');
    const readyAt = lines.indexOf('[start] ready');
    assert.ok(readyAt >= 0, `start says ready:\n${printed}`);
    for (const url of Object.values(urls)) {
      const at = lines.findIndex((l) => l.includes(url));
      assert.ok(at >= 0 && at < readyAt, `${url} is printed just before "[start] ready"`);
    }
  });

  it('prints where each program listens and keeps its data in the data folder', () => {
    const printed = system.output.join('');
    for (const url of Object.values(urls)) assert.ok(printed.includes(url), `prints ${url}`);
    for (const file of ['events.sqlite', 'aggregates.sqlite', 'profiles.sqlite']) assert.ok(existsSync(join(dataDir, file)), file);
  });

  it('answers /aggregates for every query shape as the oracle does', async () => {
    first = await snapshot();
    const shapes = allQueryShapes(START, START + MINUTES * 60_000);
    assert.deepEqual(
      first.aggregates,
      shapes.map((q) => expectedAggregates(tags, q)),
    );
  });

  it('answers /user_profiles as the oracle does', () => {
    const cookies = ['cookie-1', 'cookie-7', 'cookie-250', 'nobody'];
    for (const [i, cookie] of cookies.entries()) {
      const got = first.profiles[i] as { cookie: string; views: UserTagInput[]; buys: UserTagInput[] };
      const want = expectedProfile(tags, cookie, START, START + MINUTES * 60_000, 50);
      assert.equal(got.cookie, cookie);
      assert.deepEqual(canonical(got), canonical(want), cookie);
    }
    assert.ok((first.profiles[0] as { views: unknown[] }).views.length > 0, 'a known cookie has tags');
  });

  it('gives the same answers after the whole system is stopped and started again', async () => {
    assert.equal(await system.stop(), 0, 'stops cleanly on SIGTERM');
    system = new System(dataDir);
    assert.deepEqual(await system.printed(), [200, 200, 200], 'ready again when it says so');
    // Give the projector time to (wrongly) re-apply anything it had already applied.
    await new Promise((r) => setTimeout(r, 1000));
    const again = await snapshot();
    assert.deepEqual(again.aggregates, first.aggregates);
    assert.deepEqual(
      again.profiles.map((p) => canonical(p as { views: UserTagInput[]; buys: UserTagInput[] })),
      first.profiles.map((p) => canonical(p as { views: UserTagInput[]; buys: UserTagInput[] })),
    );
  });
});
