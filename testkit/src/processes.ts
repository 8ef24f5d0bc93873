import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

  async destroy(): Promise<void> {
    await this.stop().catch(() => {});
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A program of the platform as its own process (`<package>/src/main.ts` with its register module), as it runs in production. */
export class ProgramProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  private exited: Promise<number | null>;

  readonly name: string;

  constructor(pkg: 'command-api' | 'projector' | 'query-api', env: Record<string, string>) {
    this.name = pkg;
    this.child = spawn(process.execPath, ['--import', join(repo, `${pkg}/src/register.ts`), join(repo, `${pkg}/src/main.ts`)], {
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.output.push(chunk));
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

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

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
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
