// bench/kafka-client-profile.ts — where the command API's CPU goes with each Kafka client (KAFKA_CLIENT):
// the API runs under `node --cpu-prof` at a fixed open-loop rate, and the profile's samples are
// counted by what is on the stack — the Kafka client library (with its own dependencies), the
// adapter that calls it, or the rest. Not part of bench:ingest (a profiled process is slower).
//
//   BENCH_STACK=external node bench/kafka-client-profile.ts     (BENCH_OPEN_RATE=4000 BENCH_SECONDS=15)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteTopic } from '@usertags/testkit';
import { cpuSeconds, drive, ensureStack, machineLine, startProgram, tagBodies } from './support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const rate = Number(process.env.BENCH_OPEN_RATE ?? 4000);
const bodies = tagBodies(5000, { mixedIdTypes: true });

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Which part of the program a frame belongs to; undefined for anything else. */
function partOf(url: string): 'client' | 'adapter' | undefined {
  // Each client with the packages it brings for its protocol work (@platformatic/kafka: fastq, mnemonist, its buffers).
  if (/node_modules\/(kafkajs|@platformatic\/(kafka|dynamic-buffer|wasm-utils)|fastq|mnemonist)\//.test(url)) return 'client';
  if (/event-log\/src\/(kafka|platformatic)\//.test(url)) return 'adapter';
  return undefined;
}

/** Shares of the busy samples (not idle) with the client library, or else the adapter, anywhere on the stack. */
function shares(file: string): { busySamples: number; client: number; adapter: number; gc: number } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, 'client' | 'adapter' | 'gc' | 'idle' | 'other'>();
  const classify = (id: number): 'client' | 'adapter' | 'gc' | 'idle' | 'other' => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id) as ProfileNode;
    let part: 'client' | 'adapter' | 'gc' | 'idle' | 'other';
    if (node.callFrame.functionName === '(idle)') part = 'idle';
    else if (node.callFrame.functionName === '(garbage collector)') part = 'gc';
    else {
      const own = partOf(node.callFrame.url);
      const up = parent.get(id);
      const above = up === undefined ? 'other' : classify(up);
      // The library counts before the adapter: a frame of the client called from the adapter is the client's.
      part = own === 'client' || above === 'client' ? 'client' : own === 'adapter' || above === 'adapter' ? 'adapter' : 'other';
    }
    memo.set(id, part);
    return part;
  };
  const count = { client: 0, adapter: 0, gc: 0, idle: 0, other: 0 };
  for (const s of profile.samples) count[classify(s)]++;
  const busy = profile.samples.length - count.idle;
  const pct = (n: number) => Number(((100 * n) / Math.max(1, busy)).toFixed(1));
  return { busySamples: busy, client: pct(count.client), adapter: pct(count.adapter), gc: pct(count.gc) };
}

ensureStack();
console.log(`kafka-client-profile on ${machineLine()}: ${rate}/s offered for ${seconds} s after an 8 s warm-up`);
const rows: string[] = [];
for (const client of ['kafkajs', 'platformatic', 'platformatic', 'kafkajs'] as const) {
  const dir = mkdtempSync(join(tmpdir(), 'usertags-cpu-prof-'));
  const topic = `bench-profile-${Date.now()}`;
  const api = await startProgram('command-api/src/main.ts', {
    PORT: '0',
    HOST: '127.0.0.1',
    KAFKA_TOPIC: topic,
    KAFKA_CLIENT: client,
    NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir}`,
  });
  await drive(`${client} (warm-up)`, { url: `${api.url}/user_tags`, bodies, seconds: 8, connections: 64 });
  const cpu0 = cpuSeconds(api.child.pid);
  const run = await drive(`${client}, ${rate}/s offered, profiled`, {
    url: `${api.url}/user_tags`,
    bodies,
    seconds,
    connections: 64,
    rate,
  });
  const usPerTag = Math.round((1e6 * (cpuSeconds(api.child.pid) - cpu0)) / Math.max(1, run.ok));
  await api.stop();
  await deleteTopic(topic);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no profile written in ${dir}`);
  const s = shares(join(dir, file));
  rmSync(dir, { recursive: true, force: true });
  const row = `| ${client} | ${usPerTag} | ${s.client} % | ${s.adapter} % | ${s.gc} % |`;
  console.log(row);
  rows.push(row);
}
console.log(
  `\n| client | API CPU µs / tag (profiled) | Kafka client library on the stack | adapter (not in the library) | GC |\n|---|---:|---:|---:|---:|\n${rows.join('\n')}`,
);
