// Runs the whole system: command API, projector and query API as three
// processes, in the foreground. Ctrl-C (or SIGTERM) stops all three; if one
// of them exits, the others are stopped too.
//
//   node scripts/start.ts            embedded: the event log, the aggregates and the profiles in files
//                                    under DATA_DIR (default ./data) — no Java, PostgreSQL or Aerospike
//   node scripts/start.ts --stack    the local real Kafka and PostgreSQL (./run.sh stack:up), and
//                                    Aerospike when AEROSPIKE_HOSTS is set
//
// Ports: COMMAND_API_PORT (8080), QUERY_API_PORT (8081), PROJECTOR_PORT (8082).
// Any other variable of the programs' configuration passes through (e.g.
// OTEL_TRACES_EXPORTER=otlp to send traces to a collector or Jaeger).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

const stack = process.argv.includes('--stack');
const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(process.env.DATA_DIR ?? resolve(root, 'data'));
const host = process.env.PUBLIC_HOST ?? '127.0.0.1';
const ports = {
  command: process.env.COMMAND_API_PORT ?? '8080',
  query: process.env.QUERY_API_PORT ?? '8081',
  projector: process.env.PROJECTOR_PORT ?? '8082',
};

const storage: Record<string, string> = stack
  ? {}
  : {
      EVENT_LOG_PATH: process.env.EVENT_LOG_PATH ?? resolve(dataDir, 'events.sqlite'),
      DATABASE_URL: process.env.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'aggregates.sqlite')}`,
    };
const shared = { ...storage, PROFILE_STORE_PATH: process.env.PROFILE_STORE_PATH ?? resolve(dataDir, 'profiles.sqlite') };
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
    env: { ...process.env, ...shared, PORT: program.port },
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
process.stderr.write(
  [
    `[start] ${mode}`,
    `[start] command API  http://${host}:${ports.command}  (POST /user_tags)`,
    `[start] query API    http://${host}:${ports.query}  (/user_profiles/{cookie}, /aggregates)`,
    `[start] projector    http://${host}:${ports.projector}  (/health, /ready, /metrics)`,
    '',
  ].join('\n'),
);
