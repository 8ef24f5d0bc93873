import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');

/**
 * A Kafka broker of its own for tests that stop and start it, so that other
 * tests running against the shared stack broker are not disturbed.
 */
export class PrivateBroker {
  readonly port: number;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'usertags-broker-'));

  constructor(port: number) {
    this.port = port;
  }

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  private env() {
    return { ...process.env, KAFKA_PORT: String(this.port), KAFKA_DATA_DIR: this.dataDir, KAFKA_HEAP: '384m' };
  }

  async start(): Promise<void> {
    await run('bash', [join(repo, 'infra/kafka/kafka.sh'), 'start'], { env: this.env() });
  }

  async stop(): Promise<void> {
    await run('bash', [join(repo, 'infra/kafka/kafka.sh'), 'stop'], { env: this.env() });
  }

  /** Sends `signal` to the broker's process (SIGSTOP: a hung broker that keeps its connections). */
  signal(signal: NodeJS.Signals): void {
    process.kill(Number(readFileSync(join(this.dataDir, 'kafka.pid'), 'utf8').trim()), signal);
  }

  async destroy(): Promise<void> {
    try {
      this.signal('SIGCONT'); // a test that failed while the broker was stopped
    } catch {
      // not running
    }
    await this.stop().catch(() => {});
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Where Debian's PostgreSQL 15 binaries are (initdb, pg_ctl); `PG_BIN` overrides it. */
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of its own, in a temporary directory and on its own
 * port, for tests that stop and restart the database while the shared stack's
 * PostgreSQL keeps serving everyone else. Its superuser `postgres` logs in
 * without a password (trust, on 127.0.0.1 only). PostgreSQL refuses to run as
 * root, so as root the cluster belongs to the `postgres` user and its
 * commands run through `runuser`, as infra/postgres/pg.sh does.
 */
export class PrivatePostgres {
  readonly port: number;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'usertags-pg-'));
  private initialized = false;

  constructor(port: number) {
    this.port = port;
  }

  /** The URL of its `postgres` database. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private async as(command: string, args: readonly string[]): Promise<void> {
    const bin = join(PG_BIN, command);
    if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', bin, ...args]);
    else await run(bin, [...args]);
  }

  /** Creates the cluster on first use, then starts it and waits until it accepts connections. */
  async start(): Promise<void> {
    if (!this.initialized) {
      if (process.getuid?.() === 0) await run('chown', ['postgres:postgres', this.dataDir]);
      await this.as('initdb', [
        '-D',
        this.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ]);
      this.initialized = true;
    }
    const options = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dataDir} -c shared_buffers=32MB -c max_connections=40`;
    await this.as('pg_ctl', ['start', '-D', this.dataDir, '-l', join(this.dataDir, 'server.log'), '-w', '-t', '60', '-o', options]);
  }

  /** `fast` shuts down cleanly; `immediate` kills the server like a crash (recovery from the WAL on the next start). */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.as('pg_ctl', ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '60']);
  }

  async destroy(): Promise<void> {
    if (this.initialized) await this.stop('immediate').catch(() => {});
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A program of the platform as its own process (`<package>/src/main.ts` with its register module), as it
 * runs in production. An API runs as one process (WORKERS=1) unless `env` sets WORKERS.
 */
export class ProgramProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  readonly name: string;

  constructor(pkg: 'command-api' | 'projector' | 'query-api', env: Record<string, string>) {
    this.name = pkg;
    this.child = spawn(process.execPath, ['--import', join(repo, `${pkg}/src/register.ts`), join(repo, `${pkg}/src/main.ts`)], {
      // One process, as the tests were written for (they signal and kill it by its PID), unless a test asks for workers.
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', WORKERS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.output.push(chunk));
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    // A program that dies on its own is a finding: show why, or a test would only see a refused connection.
    this.child.once('exit', (code, signal) => {
      if (this.stopping) return;
      process.stderr.write(
        `${this.name} exited by itself (code ${code}, signal ${signal}); its last output:\n${this.output.join('').slice(-4000)}\n`,
      );
    });
  }

  private stopping = false;

  /** Resolves with the base URL once the process logs that it listens. */
  async ready(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = /"msg":"listening","url":"(http:\/\/[^"]+)"/.exec(this.output.join(''));
      if (match?.[1] !== undefined) return match[1];
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited: ${this.output.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.name} did not start: ${this.output.join('')}`);
  }

  /** The lines it logged at `level` (its log is one JSON object a line). */
  loggedAt(level: 'debug' | 'info' | 'warn' | 'error'): string[] {
    return this.output
      .join('')
      .split('\n')
      .filter((line) => line.includes(`"level":"${level}"`));
  }

  signal(signal: NodeJS.Signals): void {
    this.stopping = true;
    this.child.kill(signal);
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  async kill(): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * The read side over one topic: a projector running both projections (consumer groups of its own,
 * dead letters in `<topic>.dead-letter`, aggregates flushed every 200 ms) and a query API, on ports the
 * system picks. `env` names the log and the stores (KAFKA_*, DATABASE_URL, PROFILE_STORE_PATH).
 */
export function startReadSide(env: Record<string, string>, topic: string): [projector: ProgramProcess, queryApi: ProgramProcess] {
  const name = topic.replace(/[^a-z0-9-]/gi, '-');
  return [
    new ProgramProcess('projector', {
      ...env,
      PORT: '0',
      AGGREGATES_GROUP_ID: `${name}-aggregates-${process.pid}`,
      PROFILES_GROUP_ID: `${name}-profiles-${process.pid}`,
      KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
      FLUSH_MAX_DELAY_MS: '200',
    }),
    new ProgramProcess('query-api', { ...env, PORT: '0' }),
  ];
}

/** A port the system says is free right now (bound and released), for programs that cannot be told to pick their own. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A port that is very likely free: in a range the stack does not use, varied per process. */
export function testPort(offset: number): number {
  return 19_100 + ((process.pid * 7 + offset * 13) % 800);
}
