// bench/ab-ingest.ts — same-invocation A/B of the command API of two checkouts: both against the same
// Kafka topic (./run.sh stack:up), closed loop at 64 connections (or paced at RATE requests/s), 15 s rounds alternating,
// ROUNDS (3) each; requests/s, p99 and the command API's CPU µs per tag. COOKIES=many gives every request a
// cookie of its own (spread over the topic's 12 partitions, as real traffic is) instead of one cookie; BEFORE_ENV
// and AFTER_ENV add settings to one side (`BATCH_LINGER_MS=5,KAFKA_CLIENT=platformatic`), and BEFORE may name
// this very checkout to compare settings alone.
//
//   git worktree add ../before <commit> && (cd ../before && pnpm install --frozen-lockfile)
//   BEFORE=../before node bench/ab-ingest.ts
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { drive } from './support.ts';

const before = process.env.BEFORE;
if (before === undefined) throw new Error('BEFORE must name the other checkout (a worktree with its dependencies installed)');
const trees: Record<string, string> = { before: resolve(before), after: process.cwd() };
const ports: Record<string, number> = { before: 18180, after: 18181 };
const sideEnv = (name: string) =>
  Object.fromEntries(
    (process.env[`${name.toUpperCase()}_ENV`] ?? '')
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
const procs: ReturnType<typeof spawn>[] = [];
const pids: Record<string, number> = {};
/** CPU time a process has used so far, in µs (utime + stime from /proc, clock ticks of 10 ms). */
const cpuMicros = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
for (const [name, dir] of Object.entries(trees)) {
  const p = spawn(process.execPath, ['--import', './command-api/src/register.ts', 'command-api/src/main.ts'], {
    cwd: dir,
    stdio: 'ignore',
    env: {
      ...process.env,
      PORT: String(ports[name]),
      HOST: '127.0.0.1',
      KAFKA_BROKERS: '127.0.0.1:9092',
      KAFKA_TOPIC: 'ab-ingest',
      KAFKA_TOPIC_PARTITIONS: '12',
      LOG_LEVEL: 'error',
      // One process: its CPU is read from /proc/<pid>/stat.
      WORKERS: '1',
      ...sideEnv(name),
    },
  });
  procs.push(p);
  pids[name] = p.pid as number;
}
const ready = async (port: number) => {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
};
await Promise.all(Object.values(ports).map(ready));
const body = JSON.stringify({
  time: '2022-03-01T00:00:00.000Z',
  // autocannon puts a fresh id in place of [<id>] in every request (idReplacement).
  cookie: process.env.COOKIES === 'many' ? 'ab-[<id>]' : 'ab-cookie',
  country: 'PL',
  device: 'PC',
  action: 'VIEW',
  origin: 'o',
  product_info: { product_id: 1, brand_id: 'b', category_id: 'c', price: 5 },
});
const rounds = Number(process.env.ROUNDS ?? 3);
// RATE: a paced open loop at that many requests/s (support.ts `drive`, bench/paced.ts), the CPU per tag of both at the same batching.
const rate = process.env.RATE === undefined ? undefined : Number(process.env.RATE);
/** A round's bodies for the paced loop: with COOKIES=many a cookie of its own each, as autocannon's idReplacement gives. */
const pacedBodies = (round: number): string[] =>
  process.env.COOKIES === 'many'
    ? Array.from({ length: Math.ceil((rate ?? 0) * 15) }, (_, i) => body.replace('ab-[<id>]', `ab-${round}-${i}`))
    : [body];
const rows: Array<{ round: number; name: string; rps: number; p99: number; cpuUsPerTag: number; non2xx: number; errors: number }> = [];
for (let round = 1; round <= rounds; round++) {
  for (const name of round % 2 ? ['before', 'after'] : ['after', 'before']) {
    const cpuBefore = cpuMicros(pids[name] as number);
    if (rate !== undefined) {
      const paced = await drive(name, {
        url: `http://127.0.0.1:${ports[name]}/user_tags`,
        bodies: pacedBodies(round),
        seconds: 15,
        connections: 64,
        rate,
      });
      const cpuUsPerTag = Math.round((cpuMicros(pids[name] as number) - cpuBefore) / Math.max(1, paced.ok));
      rows.push({
        round,
        name,
        rps: paced.okPerSecond,
        p99: paced.p99,
        cpuUsPerTag,
        non2xx: paced.non2xx,
        errors: paced.errors + paced.timeouts,
      });
      console.log(JSON.stringify(rows.at(-1)));
      continue;
    }
    const r = await autocannon({
      url: `http://127.0.0.1:${ports[name]}/user_tags`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      idReplacement: process.env.COOKIES === 'many',
      connections: 64,
      duration: 15,
    });
    const cpuUsPerTag = Math.round((cpuMicros(pids[name] as number) - cpuBefore) / r.requests.total);
    rows.push({ round, name, rps: Math.round(r.requests.average), p99: r.latency.p99, cpuUsPerTag, non2xx: r.non2xx, errors: r.errors });
    console.log(JSON.stringify(rows.at(-1)));
  }
}
for (const p of procs) p.kill('SIGTERM');
const mean = (n: string, of: (r: (typeof rows)[number]) => number) =>
  Math.round(rows.filter((r) => r.name === n).reduce((s, r) => s + of(r), 0) / rounds);
const rps = { before: mean('before', (r) => r.rps), after: mean('after', (r) => r.rps) };
const cpu = { before: mean('before', (r) => r.cpuUsPerTag), after: mean('after', (r) => r.cpuUsPerTag) };
console.log(
  JSON.stringify({
    rps,
    rpsRatio: (rps.after / rps.before).toFixed(3),
    cpuUsPerTag: cpu,
    cpuRatio: (cpu.after / cpu.before).toFixed(3),
  }),
);
