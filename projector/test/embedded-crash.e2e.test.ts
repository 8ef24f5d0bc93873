import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { createEventCodec, type UserTagInput } from '@usertags/contracts';
import { openEmbeddedLog } from '@usertags/event-log';
import { faultTag, freePort, TagDriver, waitForReadModels } from '@usertags/testkit';

// The embedded default under crashes (docs/embedded.md, "Durability"): the event log syncs every commit; the
// read models commit their positions with their data and do not wait for syncs (`synchronous = NORMAL`), so
// a crash — of the projector, of the whole `start`, or a power cut that loses their last transactions —
// leaves them behind the log, never ahead of it or inconsistent, and they catch up from their own positions.
const repo = resolve(import.meta.dirname, '../..');
const codec = createEventCodec();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const streamTag = (n: number) => faultTag(n, Date.UTC(2022, 2, 24, 12, 0));

/** Every tag the embedded log holds: what both read models must equal in the end. */
function tagsInLog(path: string): UserTagInput[] {
  const log = openEmbeddedLog(path);
  try {
    return [...log.ends('user-tags')].flatMap(([partition, end]) =>
      log.read('user-tags', partition, 0n, Number(end)).map((r) => codec.decode(r.value as Buffer)),
    );
  } finally {
    log.close();
  }
}

/** `./run.sh start` in a process group of its own, so that the whole system can be killed at once. */
class Start {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  constructor(dataDir: string, ports: { command: number; query: number; projector: number }) {
    this.child = spawn(process.execPath, [join(repo, 'scripts/start.ts')], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        COMMAND_API_PORT: String(ports.command),
        QUERY_API_PORT: String(ports.query),
        PROJECTOR_PORT: String(ports.projector),
        KAFKA_BROKERS: '127.0.0.1:1',
        FLUSH_MAX_DELAY_MS: '100',
        LOG_LEVEL: 'warn',
      },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [this.child.stdout, this.child.stderr]) {
      s?.setEncoding('utf8');
      s?.on('data', (chunk: string) => this.output.push(chunk));
    }
  }
  /** SIGKILL to every process of the system at once: what a crash of the machine does to them. */
  kill(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // the group is gone already (`start` stops everything when one program dies)
    }
  }
}

describe('the embedded `start` crashed again and again under load', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'usertags-embedded-crash-'));
  let system: Start | undefined;
  let driver: TagDriver | undefined;
  after(async () => {
    await driver?.stop();
    system?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing acknowledged and ends with both read models equal to the log: whole-system kills, projector kills, a lost tail', async () => {
    const ports = { command: await freePort(), query: await freePort(), projector: await freePort() };
    const urls = { command: `http://127.0.0.1:${ports.command}`, query: `http://127.0.0.1:${ports.query}` };
    const ready = async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const states = await Promise.all(
          Object.values(ports).map((p) =>
            fetch(`http://127.0.0.1:${p}/ready`).then(
              (r) => r.status,
              () => 0,
            ),
          ),
        );
        if (states.every((s) => s === 200)) return;
        assert.ok(Date.now() < deadline, `the system is ready: ${states} ${system?.output.join('').slice(-3000)}`);
        await sleep(100);
      }
    };
    const restart = async () => {
      system = new Start(dataDir, ports);
      await ready();
    };

    await restart();
    const load = new TagDriver(urls.command, { senders: 4, timeoutMs: 2000, tag: streamTag });
    driver = load;
    load.start();

    // Three crashes of everything at once.
    for (let i = 0; i < 3; i++) {
      await sleep(1200 + i * 400);
      system?.kill();
      await sleep(300);
      await restart();
    }
    // Two crashes of the projector alone, while the API goes on taking tags.
    for (let i = 0; i < 2; i++) {
      await sleep(1000);
      process.kill(findProjector(system), 'SIGKILL');
      // `start` stops the others when one dies: bring the whole system back, as an operator would.
      await sleep(500);
      system?.kill();
      await restart();
    }
    // A lost tail: the read models' files as they were a moment ago (a consistent copy taken mid-write,
    // like what `synchronous = NORMAL` may leave after a power cut), with everything after it gone.
    await sleep(800);
    const snapshot = join(dataDir, 'snapshot');
    for (const store of ['aggregates.sqlite', 'profiles.sqlite']) {
      const db = new DatabaseSync(join(dataDir, store));
      db.exec(`VACUUM INTO '${snapshot}-${store}'`);
      db.close();
    }
    await sleep(1000);
    system?.kill();
    for (const store of ['aggregates.sqlite', 'profiles.sqlite']) {
      for (const suffix of ['-wal', '-shm']) rmSync(join(dataDir, `${store}${suffix}`), { force: true });
      copyFileSync(`${snapshot}-${store}`, join(dataDir, store));
    }
    await restart();
    await sleep(1000);
    await load.stop();
    driver = undefined;

    const acknowledged = load.acknowledged();
    const stored = tagsInLog(join(dataDir, 'events.sqlite'));
    const storedTimes = new Set(stored.map((t) => t.time));
    const lost = acknowledged.filter((t) => !storedTimes.has(new Date(t.time).toISOString()));
    assert.equal(lost.length, 0, `acknowledged but not in the log: ${lost.slice(0, 3).map((t) => t.time)}`);
    assert.ok(acknowledged.length > 500, `a real load: ${acknowledged.length} tags acknowledged`);
    const checked = await waitForReadModels(
      { queryUrl: urls.query, tags: stored, cookies: ['cookie-0', 'cookie-7', 'cookie-13', 'cookie-39'] },
      60_000,
    );
    assert.ok(checked.queries > 0);
  });
});

/** The pid of the projector that `start` runs (a child of its process). */
function findProjector(system: Start | undefined): number {
  const children = readFileSync(`/proc/${system?.child.pid}/task/${system?.child.pid}/children`, 'utf8').trim().split(' ');
  for (const pid of children) {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('projector/src/main.ts')) return Number(pid);
  }
  throw new Error('no projector among the children of start');
}
