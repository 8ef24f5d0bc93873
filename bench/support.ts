import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createEventCodec, type EventCodec, parseUserTag, type UserTag, type UserTagInput } from '@usertags/contracts';
import { toProfileEntry } from '@usertags/projector';
import autocannon from 'autocannon';
import { type Kafka, Partitioners } from 'kafkajs';

export const repo = resolve(import.meta.dirname, '..');

/**
 * Starts this checkout's Kafka and PostgreSQL, unless BENCH_STACK=external says they are up already or
 * they already answer on their ports (e.g. started from another checkout).
 */
export function ensureStack(): void {
  if (process.env.BENCH_STACK === 'external') return;
  try {
    execFileSync('bash', ['-c', 'exec 3<>/dev/tcp/127.0.0.1/9092 && exec 4<>/dev/tcp/127.0.0.1/5432'], { stdio: 'ignore' });
    return;
  } catch {
    execFileSync('bash', [join(repo, 'infra/stack.sh'), 'up'], { stdio: 'inherit' });
  }
}

/**
 * A program under test in its own process (a platform program with its register module); resolves once it logs its URL.
 * `root` is the checkout it runs from: this one, or another tree of the repository (a base commit to compare with).
 */
export async function startProgram(
  script: string,
  env: Record<string, string>,
  root: string = repo,
  args: readonly string[] = [],
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const program = /^(command-api|projector|query-api)\/src\/main\.ts$/.exec(script)?.[1];
  const preload = program === undefined ? [] : ['--import', join(root, `${program}/src/register.ts`)];
  const child = spawn(process.execPath, [...preload, join(root, script), ...args], {
    // One process (WORKERS=1): the benches measure a program's CPU by its PID, and compare per process.
    env: { ...process.env, LOG_LEVEL: 'info', WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start: ${out}`));
    }, 30_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolveUrl(m[1].replace('0.0.0.0', '127.0.0.1'));
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export interface LoadResult {
  label: string;
  seconds: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  okPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * `count` varied POST /user_tags bodies: many cookies, both actions, the catalog's spread of brands and
 * categories; with `mixedIdTypes`, every other product_id a number (the contract allows both).
 */
export function tagBodies(count: number, options: { mixedIdTypes?: boolean } = {}): string[] {
  return Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      time: new Date(Date.UTC(2022, 2, 1) + i).toISOString(),
      cookie: `cookie-${(i * 7919) % 100_000}`,
      country: `C${i % 100}`,
      device: ['PC', 'MOBILE', 'TV'][i % 3],
      action: i % 5 === 0 ? 'BUY' : 'VIEW',
      origin: `origin-${i % 1000}`,
      product_info: {
        product_id: options.mixedIdTypes === true && i % 2 === 1 ? i : String(i),
        brand_id: `brand-${i % 250}`,
        category_id: `cat-${i % 67}`,
        price: (i * 37) % 100_000,
      },
    }),
  );
}

/**
 * Drives `url` with `bodies`: closed loop with autocannon at `connections`, or, given a `rate`, paced open loop at
 * that many requests/s (bench/paced.ts in a process of its own; `connections` then does not apply: a request in
 * flight has a connection of its own, as the tester's do).
 */
export async function drive(
  label: string,
  options: { url: string; bodies: readonly string[]; seconds: number; connections: number; rate?: number },
): Promise<LoadResult> {
  if (options.rate !== undefined) {
    const paced = await runJob<LoadResult>('bench/paced.ts', {
      label,
      url: options.url,
      bodies: options.bodies,
      seconds: options.seconds,
      rate: options.rate,
    });
    printLoad(paced);
    return paced;
  }
  let i = 0;
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    duration: options.seconds,
    timeout: 10,
    requests: [
      {
        setupRequest: (req) => {
          req.body = options.bodies[i++ % options.bodies.length] as string;
          return req;
        },
      },
    ],
  });
  const ok = result['2xx'];
  const out: LoadResult = {
    label,
    seconds: options.seconds,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    okPerSecond: Math.round(ok / options.seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    max: result.latency.max,
  };
  printLoad(out);
  return out;
}

function printLoad(r: LoadResult): void {
  console.log(
    `${r.label.padEnd(44)} ${String(r.okPerSecond).padStart(7)} ok/s  p50 ${r.p50} ms  p99 ${r.p99} ms  p99.9 ${r.p999} ms  non-2xx ${r.non2xx}  errors ${r.errors}  timeouts ${r.timeouts}`,
  );
}

export interface GetLoadResult {
  /** 2xx answers per second. */
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers not 2xx, errors and timeouts (10 s). */
  failed: number;
  /** CPU (user + system) the server process spent per 2xx answer, ms; NaN without a pid. */
  cpuMsPerAnswer: number;
  /** CPU seconds the load generator's own process spent. */
  loadCpuSeconds: number;
}

/**
 * GETs `paths` in turn on `url` with autocannon, closed loop at `connections` for `seconds` (latencies in whole
 * milliseconds, from each send), and the CPU the server process `pid` (with its workers) spent meanwhile. autocannon runs in a
 * process of its own (bench/closed-loop.ts), so that the bench's own work does not count as the server's time.
 */
export async function driveGets(
  url: string,
  paths: readonly string[],
  seconds: number,
  connections: number,
  pid?: number,
): Promise<GetLoadResult> {
  const cpu0 = treeCpuSeconds(pid);
  const result = await runJob<ClosedLoopResult>('bench/closed-loop.ts', { url, paths, seconds, connections });
  const cpu = treeCpuSeconds(pid) - cpu0;
  return {
    perSecond: Math.round(result.ok / seconds),
    p50: result.p50,
    p99: result.p99,
    max: result.max,
    failed: result.failed,
    cpuMsPerAnswer: pid === undefined || result.ok === 0 ? Number.NaN : Number(((cpu * 1000) / result.ok).toFixed(3)),
    loadCpuSeconds: result.cpuSeconds,
  };
}

/** What bench/closed-loop.ts reports. */
export interface ClosedLoopResult {
  ok: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
  /** CPU seconds the load generator's process spent, start-up included. */
  cpuSeconds: number;
}

/**
 * Runs a load generator (`script`, relative to the repository) in a process of its own: `job` goes to its stdin
 * as JSON, and its answer is the last line it prints, JSON too (see `jobOfStdin`).
 */
export async function runJob<T>(script: string, job: unknown): Promise<T> {
  const child = spawn(process.execPath, [join(repo, script)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  child.stdin.end(JSON.stringify(job));
  const code = await exited;
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0) throw new Error(`${script} exited with ${code}: ${out}`);
  return JSON.parse(last) as T;
}

/** The job a load generator started by `runJob` was given. */
export async function jobOfStdin<T>(): Promise<T> {
  let input = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) input += chunk;
  return JSON.parse(input) as T;
}

/**
 * The bare ceiling of a GET endpoint (bench/bare-server.ts): fetches each of `paths` from `url` once and starts a bare
 * node:http server that answers each path with exactly those bytes. `file` is where the answers are kept for it.
 */
export async function startBareCopy(
  url: string,
  paths: readonly string[],
  file: string,
  env: Record<string, string> = {},
): Promise<{ server: Awaited<ReturnType<typeof startProgram>>; answers: Map<string, Buffer> }> {
  const answers = new Map<string, Buffer>();
  for (const path of paths) {
    const res = await fetch(`${url}${path}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body}`);
    answers.set(path, body);
  }
  writeFileSync(file, JSON.stringify([...answers].map(([path, body]) => [path, body.toString()])));
  return { server: await startProgram('bench/bare-server.ts', { ...env, PORT: '0', BARE_ANSWERS: file }), answers };
}

/** Replaces the section between `<!-- name:start -->` and `<!-- name:end -->` in docs/benchmarks.md. */
export function writeReport(name: string, markdown: string, raw: unknown): void {
  const file = join(repo, 'docs/benchmarks.md');
  let doc: string;
  try {
    doc = readFileSync(file, 'utf8');
  } catch {
    doc = '# Benchmarks\n\nEvery number here comes from a script in `bench/`; each section names the command that reproduces it.\n';
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  const at = doc.indexOf(start);
  const stop = doc.indexOf(end);
  doc = at >= 0 && stop > at ? doc.slice(0, at) + block + doc.slice(stop + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, doc);
  const dir = join(repo, 'docs/bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(raw, null, 2)}\n`);
}

/** A /proc/<pid>/stat line's command name and its user + system CPU in clock ticks (USER_HZ = 100 a second). */
function parseStat(stat: string): { comm: string; ticks: number } {
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) of process `pid` and its live descendants: a program's worker processes. */
export function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = cpuSeconds(pid);
  for (const child of childrenOf(pid)) total += treeCpuSeconds(child);
  return total;
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** The parts of a deployment whose CPU `cpuSnapshot` tells apart, in the order reports show them. */
export const CPU_PARTS = ['command-api', 'projector', 'query-api', 'kafka', 'postgres', 'tester', 'other'] as const;
export type CpuPart = (typeof CPU_PARTS)[number];

export interface CpuSnapshot {
  readonly at: number;
  /** Clock ticks the machine was busy, all CPUs together. */
  readonly busy: number;
  readonly parts: Readonly<Record<CpuPart, number>>;
}

/** Which part a process belongs to, by its command line: the programs however they were started, Kafka, PostgreSQL, this process. */
function partOf(pid: number, comm: string, cmdline: string): CpuPart {
  if (pid === process.pid) return 'tester';
  if (comm === 'postgres') return 'postgres';
  if (cmdline.includes('kafka.Kafka')) return 'kafka';
  for (const program of ['command-api', 'projector', 'query-api'] as const) if (cmdline.includes(`${program}/src/main.ts`)) return program;
  // A bare server in a program's place (bench:e2e's `bare` mode) names it after its script.
  const args = cmdline.split('\0');
  const bare = args.findIndex((a) => a.endsWith('bench/bare-server.ts'));
  const stands = bare < 0 ? undefined : args[bare + 1];
  if (stands === 'command-api' || stands === 'query-api') return stands;
  return 'other';
}

/**
 * CPU used so far by every process on the machine, summed per part, and the machine's busy and total
 * ticks (/proc/stat). Two snapshots give where the cores went between them (`cpuBetween`). Processes
 * that start or end between the two are counted only for what they used while both saw them.
 */
export function cpuSnapshot(): CpuSnapshot {
  const parts = Object.fromEntries(CPU_PARTS.map((p) => [p, 0])) as Record<CpuPart, number>;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const { comm, ticks } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      parts[partOf(pid, comm, readFileSync(`/proc/${pid}/cmdline`, 'utf8'))] += ticks;
    } catch {
      // gone between listing and reading
    }
  }
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { at: performance.now(), busy: total - idle, parts };
}

export interface CpuUse {
  readonly seconds: number;
  /** Cores busy on average: the whole machine, and each part. */
  readonly machineCores: number;
  readonly cores: Readonly<Record<CpuPart, number>>;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    seconds: round(seconds),
    machineCores: round((b.busy - a.busy) / 100 / seconds), // ticks are USER_HZ = 100 a second per CPU
    cores: Object.fromEntries(CPU_PARTS.map((p) => [p, round(Math.max(0, b.parts[p] - a.parts[p]) / 100 / seconds)])) as Record<
      CpuPart,
      number
    >,
  };
}

/** The stack's Kafka broker: this checkout's, or else the one process on the machine running kafka.Kafka (a stack started from another checkout). */
export function kafkaPid(): number | undefined {
  try {
    return Number(readFileSync(join(repo, '.stack/kafka/kafka.pid'), 'utf8').trim());
  } catch {
    const found: number[] = [];
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka')) found.push(pid);
      } catch {
        // gone between listing and reading
      }
    }
    return found.length === 1 ? found[0] : undefined;
  }
}

export function machineLine(): string {
  const cpus = execFileSync('nproc').toString().trim();
  const mem = Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024 / 1024);
  return `${cpus} cores, ${mem} GiB, Node ${process.version}`;
}

const codec = createEventCodec();

/** Appends tags to a new topic as fast as Kafka takes them (acks = 1, 10,000 per request, 4 requests in flight). */
export async function fillTopic(kafka: Kafka, topic: string, tags: Iterable<UserTagInput>): Promise<{ events: number; seconds: number }> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  let events = 0;
  let chunk: Array<{ key: string; value: Buffer }> = [];
  const inFlight: Promise<unknown>[] = [];
  for (const tag of tags) {
    const parsed = parseUserTag(tag);
    if (!parsed.ok) throw parsed.error;
    chunk.push({ key: tag.cookie, value: codec.encode(parsed.value) });
    events++;
    if (chunk.length === 10_000) {
      inFlight.push(producer.send({ topic, acks: 1, messages: chunk }));
      chunk = [];
      if (inFlight.length >= 4) await inFlight.shift();
    }
  }
  if (chunk.length > 0) inFlight.push(producer.send({ topic, acks: 1, messages: chunk }));
  await Promise.all(inFlight);
  await producer.disconnect();
  return { events, seconds: (performance.now() - started) / 1000 };
}

/** The baseline of a projector's throughput: how fast a consumer merely reads and decodes `events` records of `topic`. */
export async function readOnlyRate(kafka: Kafka, topic: string, events: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-read-${Date.now()}`, maxBytes: 50 * 1024 * 1024, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  const end = await new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        for (const m of batch.messages) if (m.value !== null) codec.decode(m.value);
        seen += batch.messages.length;
        if (seen >= events) resolve(performance.now());
      },
    });
  });
  await consumer.disconnect();
  return events / ((end - first) / 1000);
}

export const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

/** A tag as the projector makes its profile entry: encoded as the log holds it, decoded back, at partition 0 and `offset`. */
export function profileEntryOf(codec: EventCodec, tag: UserTag, offset: bigint): ReturnType<typeof toProfileEntry> {
  const payload = codec.encode(tag);
  return toProfileEntry(codec.decode(payload), payload, 0, offset);
}

/** Applies `tags` to a profile store as the projector would (partition 0, offsets from 0), 5,000 a batch. */
export async function applyProfileTags(
  store: { apply(entries: ReturnType<typeof toProfileEntry>[]): Promise<void> },
  tags: Iterable<UserTagInput>,
): Promise<void> {
  const codec = createEventCodec();
  let batch = [];
  let offset = 0n;
  for (const input of tags) {
    const parsed = parseUserTag(input);
    if (!parsed.ok) throw parsed.error;
    batch.push(profileEntryOf(codec, parsed.value, offset++));
    if (batch.length === 5000) {
      await store.apply(batch);
      batch = [];
    }
  }
  await store.apply(batch);
}
