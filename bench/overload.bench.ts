// bench:overload — the whole system offered far more tags than it can take,
// for BENCH_SECONDS (default 600): command API, projector (aggregates and
// profiles) and query API running, a light query load beside the flood. It
// reports the peak memory (VmHWM, and the largest VmRSS sampled each second)
// of every program, what the tags got (204, 503 by code, timeouts), latency,
// and checks that no tag answered 204 is missing from the log or from the
// aggregate read model.
//
//   ./run.sh bench:overload   (BENCH_SECONDS=600 BENCH_RATE=50000 BENCH_CONNECTIONS=1000 BENCH_MAX_IN_FLIGHT=20000)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEventCodec } from '@usertags/contracts';
import { createPostgresAggregateStore } from '@usertags/read-models';
import { createTestDatabase } from '@usertags/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { ensureStack, machineLine, startProgram, writeReport } from './support.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 600);
const RATE = Number(process.env.BENCH_RATE ?? 50_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1000);
const MAX_IN_FLIGHT = Number(process.env.BENCH_MAX_IN_FLIGHT ?? 20_000);
const CLIENT_TIMEOUT_MS = 10_000;
const BROKERS = ['127.0.0.1:9092'];
const T0 = Date.UTC(2022, 5, 1, 0, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = (kb: number) => Math.round(kb / 1024);

ensureStack();
console.log(
  `bench:overload on ${machineLine()}: ${SECONDS} s at ${RATE.toLocaleString('en')} tags/s offered over ${CONNECTIONS} connections`,
);

// --- the system -------------------------------------------------------------
const topic = `bench-overload-${Date.now()}`;
const kafka = new Kafka({ clientId: 'bench-overload', brokers: BROKERS, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
const database = await createTestDatabase('bench_overload');
const profilePath = join(tmpdir(), `${topic}.sqlite`);
const common = { KAFKA_TOPIC: topic, DATABASE_URL: database.url, PROFILE_STORE_PATH: profilePath, HOST: '127.0.0.1', PORT: '0' };
const programs = {
  'command-api': await startProgram('command-api/src/main.ts', common),
  projector: await startProgram('projector/src/main.ts', {
    ...common,
    KAFKA_DEAD_LETTER_TOPIC: `${topic}.dead-letter`,
    AGGREGATES_GROUP_ID: `${topic}-aggregates`,
    PROFILES_GROUP_ID: `${topic}-profiles`,
  }),
  'query-api': await startProgram('query-api/src/main.ts', common),
};
const apiUrl = new URL(programs['command-api'].url);
const queryUrl = programs['query-api'].url;

// --- memory: VmHWM (the kernel's peak) and the largest VmRSS seen, each second -----
function pidOfListener(port: number): number | undefined {
  try {
    const line = execFileSync('ss', ['-ltnpH', `sport = :${port}`]).toString();
    const pid = /pid=(\d+)/.exec(line)?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  }
}
const watched: Record<string, number | undefined> = {
  'command-api': programs['command-api'].child.pid,
  projector: programs.projector.child.pid,
  'query-api': programs['query-api'].child.pid,
  'Kafka broker': pidOfListener(9092),
  'load generator (this process)': process.pid,
};
// RSS counts the pages a program maps from files too: the embedded stores' memory-mapped SQLite files
// and the page cache behind them, which the kernel takes back when it needs it. RssAnon is the program's
// own memory (heap, buffers); that is what must stay bounded. Each minute's largest RssAnon is kept to
// show whether it levels off.
const memory: Record<string, { rssKb: number; hwmKb: number; startKb: number; anonKb: number; anonByMinute: number[] }> = {};
const memoryStarted = performance.now();
function sampleMemory(): void {
  const minute = Math.floor((performance.now() - memoryStarted) / 60_000);
  for (const [name, pid] of Object.entries(watched)) {
    if (pid === undefined) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const field = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      const rss = field('VmRSS');
      const hwm = field('VmHWM');
      const anon = field('RssAnon');
      const m = memory[name] ?? { rssKb: rss, hwmKb: hwm, startKb: rss, anonKb: anon, anonByMinute: [] };
      memory[name] = m;
      m.rssKb = Math.max(m.rssKb, rss);
      m.hwmKb = Math.max(m.hwmKb, hwm);
      m.anonKb = Math.max(m.anonKb, anon);
      m.anonByMinute[minute] = Math.max(m.anonByMinute[minute] ?? 0, anon);
    } catch {
      // the process is gone; its last samples stand
    }
  }
}
sampleMemory();
const memoryTimer = setInterval(sampleMemory, 1000);

// --- the flood: open loop at RATE, at most MAX_IN_FLIGHT waiting in this process --------
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const acked = new Uint8Array(Math.ceil((RATE * SECONDS * 1.1) / 8) + 1024);
const bit = (set: Uint8Array, n: number) => ((set[n >> 3] as number) & (1 << (n & 7))) !== 0;
const mark = (set: Uint8Array, n: number) => {
  set[n >> 3] = (set[n >> 3] as number) | (1 << (n & 7));
};
const statuses: Record<string, number> = {};
// Milliseconds to an answer (or failure) as the generator saw it, and from the moment the request had a connection.
const latencyMs = new Uint32Array(CLIENT_TIMEOUT_MS + 1);
const serverMs = new Uint32Array(CLIENT_TIMEOUT_MS + 1);
let next = 0;
let inFlight = 0;
let notSent = 0;
const count = (key: string) => {
  statuses[key] = (statuses[key] ?? 0) + 1;
};

function body(n: number): string {
  return `{"time":"${new Date(T0 + n).toISOString()}","cookie":"cookie-${(n * 7919) % 100_000}","country":"C${n % 100}","device":"${['PC', 'MOBILE', 'TV'][n % 3]}","action":"${n % 5 === 0 ? 'BUY' : 'VIEW'}","origin":"origin-${n % 1000}","product_info":{"product_id":"${n}","brand_id":"brand-${n % 250}","category_id":"cat-${n % 67}","price":${(n * 37) % 100_000}}}`;
}

function send(n: number): void {
  inFlight++;
  const started = performance.now();
  const payload = body(n);
  let writtenAt: number | undefined;
  let done = false;
  const finish = (key: string, ok: boolean) => {
    if (done) return;
    done = true;
    inFlight--;
    count(key);
    if (ok) mark(acked, n);
    const now = performance.now();
    const ms = Math.min(CLIENT_TIMEOUT_MS, Math.round(now - started));
    latencyMs[ms] = (latencyMs[ms] as number) + 1;
    const onWire = Math.min(CLIENT_TIMEOUT_MS, Math.round(now - (writtenAt ?? now)));
    serverMs[onWire] = (serverMs[onWire] as number) + 1;
  };
  const req = request(
    {
      agent,
      host: apiUrl.hostname,
      port: apiUrl.port,
      path: '/user_tags',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: CLIENT_TIMEOUT_MS,
    },
    (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode === 503) {
          const code = /"code":"([A-Z_]+)"/.exec(Buffer.concat(chunks).toString())?.[1] ?? '?';
          finish(`503 ${code}`, false);
        } else finish(String(res.statusCode), res.statusCode === 204);
      });
    },
  );
  // From here on the request is on a connection: what follows is the server's time, not this process's queue.
  req.on('socket', (socket) => {
    if (socket.connecting) socket.once('connect', () => (writtenAt = performance.now()));
    else writtenAt = performance.now();
  });
  req.on('timeout', () => {
    req.destroy();
    finish('timeout', false);
  });
  req.on('error', () => finish('connection error', false));
  req.end(payload);
}

// A light query load beside the flood: 10 profile queries and 1 aggregates query a second.
const queryResults: Array<{ status: number; ms: number }> = [];
async function query(path: string): Promise<void> {
  const started = performance.now();
  try {
    const res = await fetch(`${queryUrl}${path}`, { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
    await res.arrayBuffer();
    queryResults.push({ status: res.status, ms: performance.now() - started });
  } catch {
    queryResults.push({ status: 0, ms: performance.now() - started });
  }
}
const iso = (ms: number, digits: number) => new Date(ms).toISOString().slice(0, digits);
let queryTick = 0;
const queryTimer = setInterval(() => {
  const upTo = T0 + next;
  void query(`/user_profiles/cookie-${(queryTick * 7919) % 100_000}?time_range=${iso(T0, 23)}_${iso(upTo + 1, 23)}&limit=20`);
  if (queryTick++ % 10 === 0) {
    const to = Math.floor(upTo / 60_000) * 60_000;
    if (to > T0) void query(`/aggregates?time_range=${iso(Math.max(T0, to - 600_000), 19)}_${iso(to, 19)}&action=VIEW&aggregates=COUNT`);
  }
}, 100);

const started = performance.now();
const end = started + SECONDS * 1000;
let lastReport = started;
while (performance.now() < end) {
  const due = Math.floor(((performance.now() - started) / 1000) * RATE);
  while (next < due) {
    if (inFlight >= MAX_IN_FLIGHT) {
      notSent += due - next;
      next = due;
      break;
    }
    send(next++);
  }
  if (performance.now() - lastReport > 10_000) {
    lastReport = performance.now();
    console.log(`${Math.round((lastReport - started) / 1000)} s: ${JSON.stringify(statuses)} in flight ${inFlight}, not sent ${notSent}`);
  }
  await sleep(5);
}
const offered = next;
clearInterval(queryTimer);
while (inFlight > 0) await sleep(100);
agent.destroy();
const floodSeconds = (performance.now() - started) / 1000;
console.log(`flood over: ${JSON.stringify(statuses)}; not sent ${notSent}`);

// --- nothing acknowledged is missing from the log -----------------------------------
const codec = createEventCodec();
const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
const inLog = [...ends.values()].reduce((s, e) => s + Number(e), 0);
const stored = new Uint8Array(acked.length);
let duplicates = 0;
const consumer = kafka.consumer({ groupId: `${topic}-check`, maxBytes: 50 * 1024 * 1024, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
const remaining = new Map([...ends].filter(([, e]) => e > 0n));
await new Promise<void>((resolve) => {
  if (remaining.size === 0) resolve();
  void consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        if (m.value === null) continue;
        const n = Date.parse(codec.decode(m.value).time) - T0;
        if (bit(stored, n)) duplicates++;
        mark(stored, n);
      }
      if (BigInt(batch.lastOffset()) + 1n >= (remaining.get(batch.partition) ?? 0n)) remaining.delete(batch.partition);
      if (remaining.size === 0) resolve();
    },
  });
});
await consumer.disconnect();
let lost = 0;
let acknowledged = 0;
for (let n = 0; n < offered; n++) {
  if (!bit(acked, n)) continue;
  acknowledged++;
  if (!bit(stored, n)) lost++;
}
console.log(`log: ${inLog} records, ${acknowledged} acknowledged, ${lost} acknowledged but missing, ${duplicates} duplicates`);

// --- and the read models catch up with the log -------------------------------------
const catchUpStarted = performance.now();
const store = createPostgresAggregateStore({ connectionString: database.url });
for (;;) {
  const offsets = await store.loadOffsets(topic).catch(() => new Map<number, bigint>());
  if ([...ends].every(([p, e]) => (offsets.get(p) ?? 0n) >= e)) break;
  await sleep(1000);
}
const aggregatesCaughtUp = (performance.now() - catchUpStarted) / 1000;
const lastMinute = Math.floor((T0 + offered) / 60_000) * 60_000 + 60_000;
let counted = 0;
for (const action of ['VIEW', 'BUY'] as const) {
  for (const b of await store.readBuckets({ action, filters: {}, fromMs: T0, toMs: lastMinute })) counted += Number(b.count);
}
await store.close();
const profilesApplied = async () => {
  const text = await (await fetch(`${programs.projector.url}/metrics`)).text();
  return Number(/^projector_events_applied_total\{projection="profiles"\} (\d+)/m.exec(text)?.[1] ?? 0);
};
while ((await profilesApplied()) < inLog) await sleep(1000);
const profilesCaughtUp = (performance.now() - catchUpStarted) / 1000;
console.log(
  `aggregates count ${counted} of ${inLog} after ${aggregatesCaughtUp.toFixed(0)} s; profiles caught up after ${profilesCaughtUp.toFixed(0)} s`,
);

clearInterval(memoryTimer);
sampleMemory();
for (const p of Object.values(programs)) await p.stop();
await admin.deleteTopics({ topics: [topic, `${topic}.dead-letter`] }).catch(() => {});
await admin.disconnect();
await database.drop();

// --- report ---------------------------------------------------------------------
const percentile = (histogram: Uint32Array, q: number) => {
  const total = histogram.reduce((sum, c) => sum + c, 0);
  let seen = 0;
  for (let ms = 0; ms < histogram.length; ms++) {
    seen += histogram[ms] as number;
    if (seen >= q * total) return ms;
  }
  return CLIENT_TIMEOUT_MS;
};
const answered = latencyMs.reduce((sum, c) => sum + c, 0);
const within200 = serverMs.slice(0, 201).reduce((s, c) => s + c, 0);
const queryOk = queryResults.filter((r) => r.status === 200);
const queryP99 = [...queryOk.map((r) => r.ms)].sort((a, b) => a - b)[Math.floor(0.99 * queryOk.length)] ?? 0;
const n = (x: number) => x.toLocaleString('en');
const memoryRows = Object.entries(memory)
  .map(([name, m]) => `| ${name} | ${MiB(m.startKb)} | ${MiB(m.rssKb)} | ${MiB(m.hwmKb)} | ${MiB(m.anonKb)} |`)
  .join('\n');
const minutes = Math.max(...Object.values(memory).map((m) => m.anonByMinute.length));
const anonRows = Object.entries(memory)
  .filter(([name]) => !name.startsWith('load generator'))
  .map(([name, m]) => `| ${name} | ${Array.from({ length: minutes }, (_, i) => MiB(m.anonByMinute[i] ?? 0)).join(' | ')} |`)
  .join('\n');
const anonHeader = `| program | ${Array.from({ length: minutes }, (_, i) => `min ${i + 1}`).join(' | ')} |\n|---|${'---:|'.repeat(minutes)}`;
const statusRows = Object.entries(statuses)
  .sort(([, a], [, b]) => b - a)
  .map(([k, v]) => `| ${k} | ${n(v)} |`)
  .join('\n');
const markdown = `
## Overload (\`bench:overload\`)

Reproduce: \`BENCH_SECONDS=${SECONDS} ./run.sh bench:overload\` (BENCH_RATE=${RATE}, BENCH_CONNECTIONS=${CONNECTIONS}, BENCH_MAX_IN_FLIGHT=${MAX_IN_FLIGHT}; the default run is 600 s).
Machine: ${machineLine()}; Kafka, PostgreSQL, the three programs (default settings: \`MAX_PENDING\` 20000,
\`APPEND_TIMEOUT_MS\` 1000) and the load generator all on it. Run at ${new Date().toISOString()}, ${Math.round(floodSeconds)} s of flood.

The generator offers ${n(RATE)} tags/s open-loop over at most ${n(CONNECTIONS)} connections, never holding more than
${n(MAX_IN_FLIGHT)} requests (the rest count as "not sent"); beside it, 10 profile queries and 1 aggregates query a second.

| tags | count |
|---|---:|
| offered | ${n(offered)} |
| not sent (generator at its in-flight bound) | ${n(notSent)} |
${statusRows}
| **acknowledged (204) but missing from the log** | **${n(lost)}** |
| records in the log (acknowledged, plus any stored whose answer was lost) | ${n(inLog)} |
| stored twice | ${n(duplicates)} |

- Acknowledged: ${n(acknowledged)} (${n(Math.round(acknowledged / floodSeconds))}/s).
- Time to an answer once the request was on a connection (the server's share): p50 ${percentile(serverMs, 0.5)} ms, p99 ${percentile(serverMs, 0.99)} ms, max ${percentile(serverMs, 1)} ms; ${((100 * within200) / Math.max(1, answered)).toFixed(1)} % within the spec's 200 ms budget.
- Including the wait in the generator's own queue for one of its ${n(CONNECTIONS)} connections: p50 ${percentile(latencyMs, 0.5)} ms, p99 ${percentile(latencyMs, 0.99)} ms.
- Queries during the flood: ${queryResults.length} sent, ${queryOk.length} answered 200, p99 ${queryP99.toFixed(0)} ms.
- The aggregate read model reached the end of the log ${aggregatesCaughtUp.toFixed(0)} s after the flood and counts ${n(counted)} tags — ${counted === inLog ? 'exactly the log' : `**not the log's ${n(inLog)}**`}; the profile projection caught up after ${profilesCaughtUp.toFixed(0)} s.

| program | RSS at start MiB | largest RSS sampled MiB | peak (VmHWM) MiB | largest RssAnon MiB |
|---|---:|---:|---:|---:|
${memoryRows}

RSS includes pages mapped from files — the embedded stores' memory-mapped SQLite files and their page cache,
which the kernel reclaims under pressure; RssAnon is each program's own memory (heap and buffers). The largest
RssAnon in each minute of the run (MiB), to show where it levels off:

${anonHeader}
${anonRows}
`;
writeReport('overload', markdown, {
  machine: machineLine(),
  seconds: SECONDS,
  floodSeconds,
  rate: RATE,
  connections: CONNECTIONS,
  maxInFlight: MAX_IN_FLIGHT,
  offered,
  notSent,
  statuses,
  acknowledged,
  lost,
  inLog,
  duplicates,
  counted,
  aggregatesCaughtUp,
  profilesCaughtUp,
  latency: {
    server: { p50: percentile(serverMs, 0.5), p99: percentile(serverMs, 0.99), max: percentile(serverMs, 1), within200 },
    client: { p50: percentile(latencyMs, 0.5), p99: percentile(latencyMs, 0.99), max: percentile(latencyMs, 1) },
  },
  queries: { sent: queryResults.length, ok: queryOk.length, p99: queryP99 },
  memory,
});
console.log(markdown);
process.exit(lost === 0 && counted === inLog ? 0 : 1);
