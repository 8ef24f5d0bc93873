// Runs the whole system: command API, projector and query API as three
// processes, in the foreground. Ctrl-C (or SIGTERM) stops all three; if one
// of them exits, the others are stopped too.
//
//   node scripts/start.ts            embedded: the event log, the aggregates and the profiles in files
//                                    under DATA_DIR (default ./data) — no Java, PostgreSQL or Aerospike
//   node scripts/start.ts --stack    the local real Kafka and PostgreSQL (./run.sh stack:up), and
//                                    Aerospike when AEROSPIKE_HOSTS is set
//
// The files and settings come from runtime/src/local-defaults.ts, which `projector replay` uses too.
// The three URLs and "[start] ready" are printed once every program answers /ready with 200
// (at most START_READY_TIMEOUT_S, 60 s; otherwise it names the program and stops them all).
//
// Ports: COMMAND_API_PORT (8080), QUERY_API_PORT (8081), PROJECTOR_PORT (8082).
// Any other variable of the programs' configuration passes through (e.g.
// OTEL_TRACES_EXPORTER=otlp to send traces to a collector or Jaeger).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { localDefaults } from '@usertags/runtime/local-defaults';

const { stack, dataDir, storage } = localDefaults(process.argv.includes('--stack'));
const root = resolve(import.meta.dirname, '..');
const host = process.env.PUBLIC_HOST ?? '127.0.0.1';
const ports = {
  command: process.env.COMMAND_API_PORT ?? '8080',
  query: process.env.QUERY_API_PORT ?? '8081',
  projector: process.env.PROJECTOR_PORT ?? '8082',
};
const readyTimeoutMs = Number(process.env.START_READY_TIMEOUT_S ?? '60') * 1000;
// Where start asks each program whether it is ready: where it listens, seen from this machine.
const bind = process.env.HOST;
const probeHost = bind === undefined || bind === '' || bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
if (!stack) mkdirSync(dataDir, { recursive: true });

const programs: Array<{ name: string; port: string }> = [
  { name: 'command-api', port: ports.command },
  { name: 'projector', port: ports.projector },
  { name: 'query-api', port: ports.query },
];

const children: ChildProcess[] = [];
let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  let left = children.filter((c) => c.exitCode === null).length;
  if (left === 0) process.exit(code);
  for (const child of children) {
    child.once('exit', () => {
      left--;
      if (left === 0) process.exit(code);
    });
  }
  setTimeout(() => process.exit(code), 15_000).unref();
}

for (const program of programs) {
  // The register module starts tracing (when OTEL_TRACES_EXPORTER says so) before the program's modules load.
  const child = spawn(process.execPath, ['--import', `./${program.name}/src/register.ts`, `${program.name}/src/main.ts`], {
    cwd: root,
    // Each program one process (WORKERS=1) unless the environment says otherwise: start is for one machine's trial run.
    env: { WORKERS: '1', ...process.env, ...storage, PORT: program.port },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.once('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`[start] ${program.name} exited (${signal ?? code}); stopping the others\n`);
      stopAll(code === 0 ? 1 : (code ?? 1));
    }
  });
  children.push(child);
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

const mode = stack
  ? `local stack (Kafka, PostgreSQL${process.env.AEROSPIKE_HOSTS ? `, Aerospike ${process.env.AEROSPIKE_HOSTS}` : ', embedded profiles'})`
  : `embedded, data in ${dataDir}`;
process.stderr.write(`[start] ${mode}\n[start] waiting for ${programs.map((p) => p.name).join(', ')} to answer /ready\n`);

/** The status of GET /ready (0: no answer: not listening yet, or refused). */
async function readyStatus(port: string): Promise<number> {
  try {
    const res = await fetch(`http://${probeHost}:${port}/ready`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return 0;
  }
}

/** Resolves once the program answers /ready with 200; false when it did not within the bound (or start is stopping). */
async function untilReady(program: { name: string; port: string }, deadline: number): Promise<boolean> {
  let last = 0;
  while (!stopping) {
    last = await readyStatus(program.port);
    if (last === 200) return true;
    if (stopping) return false;
    if (Date.now() >= deadline) {
      const answer = last === 0 ? 'no answer' : `${last}`;
      process.stderr.write(
        `[start] ${program.name} is not ready after ${readyTimeoutMs / 1000} s (GET http://${probeHost}:${program.port}/ready: ${answer}); stopping the others\n`,
      );
      stopAll(1);
      return false;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const deadline = Date.now() + readyTimeoutMs;
const ready = await Promise.all(programs.map((p) => untilReady(p, deadline)));
if (ready.every(Boolean)) {
  process.stderr.write(
    [
      `[start] command API  http://${host}:${ports.command}  (POST /user_tags)`,
      `[start] query API    http://${host}:${ports.query}  (/user_profiles/{cookie}, /aggregates)`,
      `[start] projector    http://${host}:${ports.projector}  (/health, /ready, /metrics)`,
      '[start] ready',
      '',
    ].join('\n'),
  );
} else {
  stopAll(1);
}
