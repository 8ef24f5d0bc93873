// Fault drills on the local cluster (./run.sh test:cluster): each drill runs
// the tester's reference workload at 1,000 tags/s with the full query mix,
// injects its fault 15 s in, keeps the load on 45 s after the fault ends,
// waits for the projections to catch up, and then checks the read models
// against the log (verify.ts). See docs/reliability.md ("Fault drills").
//
//   node infra/cluster/drills/main.ts [drill…]    all drills, or the named ones
//
// Environment: DRILL_RATE (1000), DRILL_TIMEOUT_MS (3000: how long the tester
// waits for an answer; see below), KEEP_CLUSTER=1 (leave the cluster running
// when the drills brought it up), CLUSTER_DIR.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ledger } from '@usertags/tester';
import { type Report, runTester } from '@usertags/tester';
import kafkajs from 'kafkajs';
import pg from 'pg';
import { parse } from 'yaml';
import { readPorts, repo } from '../configs.ts';
import { clusterDir, clusterEnv, isReady, type Replica, replicaList, runDir, spawnReplica, waitReady } from '../replicas.ts';
import { DRILLS, type Drill, type DrillContext } from './drills.ts';
import { isAlive, KAFKA_NODES, patroniMembers, pidOf, postmasterPid, underReplicated } from './members.ts';
import { currentLag, freshness, type Observation, observe } from './observe.ts';
import { type AnswerCheck, checkAnswers, type Durability, durability, endOffsets, readLog } from './verify.ts';

const WARM_S = 15;
/** How long the log's end offsets must stand still before the run's log is read (longer than an append can take). */
const LOG_QUIET_MS = 6000;
const AFTER_S = 45;
const SETTLE_MAX_MS = 300_000;
const rate = Number(process.env.DRILL_RATE ?? 1000);
// The drills measure availability: a tag answered 204 after 400 ms was stored,
// so the tester waits longer than the command API's own 503 (APPEND_TIMEOUT_MS,
// 1 s) for every answer, and latency is reported apart (tag p99, tags over
// 200 ms). With the reference workload's 200 ms budget a slow answer counted as
// a failed one, and an overloaded two-core machine showed windows "without
// ingest" in which every tag was in fact stored.
const timeoutMs = Number(process.env.DRILL_TIMEOUT_MS ?? 3000);
const ports = readPorts();
const commandUrl = `http://127.0.0.1:${ports.HAPROXY_COMMAND_API_PORT}`;
const queryUrl = `http://127.0.0.1:${ports.HAPROXY_QUERY_API_PORT}`;
const prometheusUrl = `http://127.0.0.1:${ports.PROMETHEUS_PORT}`;
const clusterSh = join(repo, 'infra/cluster/cluster.sh');
const log = (line: string) => process.stderr.write(`[drills] ${line}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !DRILLS.some((d) => d.name === w));
if (unknown.length > 0) {
  log(`unknown drill ${unknown.join(', ')}; drills: ${DRILLS.map((d) => d.name).join(', ')}`);
  process.exit(2);
}
const drills = wanted.length === 0 ? DRILLS : DRILLS.filter((d) => wanted.includes(d.name));

// ---------------------------------------------------------------- the cluster and the replicas
if (isAlive(pidOf('programs'))) {
  log('start:cluster is running its replicas; stop it first (the drills run and restart the replicas themselves)');
  process.exit(2);
}
const wasUp = isAlive(pidOf('kafka-1'));
execFileSync('bash', [clusterSh, 'up'], { stdio: 'inherit', env: { ...process.env, CLUSTER_DIR: clusterDir } });
const env = clusterEnv();
const replicas = new Map<string, Replica>(replicaList(ports).map((r) => [r.name, r]));
const children = new Map<string, ChildProcess>();
const startReplica = (name: string, override: Readonly<Record<string, string>> = {}) => {
  children.set(name, spawnReplica(replicas.get(name) as Replica, env, override));
};
for (const name of replicas.keys()) startReplica(name);
const stragglers = await waitReady([...replicas.values()], 120_000);
if (stragglers.length > 0) throw new Error(`not ready after 120 s: ${stragglers.map((r) => r.name).join(', ')}`);
log(`8 replicas ready; profiles: ${env.AEROSPIKE_HOSTS ? `Aerospike ${env.AEROSPIKE_HOSTS}` : 'embedded store'}`);

const kafka = new kafkajs.Kafka({
  clientId: 'drills',
  brokers: (env.KAFKA_BROKERS as string).split(','),
  logLevel: kafkajs.logLevel.NOTHING,
  retry: { retries: 10 },
});
const admin = kafka.admin();
await admin.connect();

async function stopReplica(name: string): Promise<void> {
  const child = children.get(name);
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

// ---------------------------------------------------------------- one drill
interface DrillResult {
  readonly name: string;
  readonly title: string;
  readonly timeline: string[];
  readonly tags: number;
  readonly durability: Durability;
  readonly answers: AnswerCheck;
  readonly settleS: number;
  readonly correctAfterS: number;
  readonly ingest: {
    readonly status503: number;
    readonly timeouts: number;
    readonly errors: number;
    readonly longestNoSuccessS: number;
    /** Latency of the answered tags, and how many took longer than the reference workload's 200 ms. */
    readonly p99Ms: number;
    readonly maxMs: number;
    readonly over200Ms: number;
  };
  readonly queries: {
    readonly status503: number;
    readonly other5xx: number;
    readonly timeouts: number;
    readonly longestNoSuccessS: number;
  };
  readonly inRun: {
    readonly profilesWrong: number;
    readonly profilesChecked: number;
    readonly aggregatesWrong: number;
    readonly aggregatesChecked: number;
  };
  readonly freshness: {
    readonly profilesWorstS: number;
    readonly profilesBackS: number;
    readonly aggregatesWorstS: number;
    readonly aggregatesBackS: number;
  };
  readonly peakLag: Record<string, number>;
  readonly alertsExpected: readonly string[];
  readonly alertsFired: string[];
  readonly cpu?: Record<string, number>;
  readonly bytes?: Record<string, number>;
  readonly failures: string[];
}

function longestNoSuccess(series: Report['endpoints']['tags']['series']): number {
  let longest = 0;
  let run = 0;
  for (const s of series) {
    if (s.sent > 0 && s.ok === 0) longest = Math.max(longest, ++run);
    else if (s.ok > 0) run = 0;
  }
  return longest;
}

function statusCount(statuses: Readonly<Record<string, number>>, test: (status: number) => boolean): number {
  return Object.entries(statuses).reduce((n, [status, count]) => (test(Number(status)) ? n + count : n), 0);
}

/** Where the previous drill's event times ended: each drill's tags start on a minute of their own. */
let previousEnd = 0;

async function runDrill(drill: Drill, index: number): Promise<DrillResult> {
  log(`— ${drill.name}: ${drill.title}`);
  const timeline: string[] = [];
  const from = await endOffsets(admin);
  // The next whole minute (event times run up to a minute ahead of the clock): no minute holds two
  // drills' tags, so every aggregate the drill checks counts its own tags only.
  const startMs = Math.ceil(Math.max(Date.now(), previousEnd) / 60_000) * 60_000;
  const loadStart = Date.now();
  const note = (event: string) => {
    const line = `${((Date.now() - loadStart) / 1000).toFixed(1)} s: ${event}`;
    timeline.push(line);
    log(`  ${line}`);
  };
  const watcher = observe({
    commandUrl,
    queryUrl,
    prometheusUrl,
    projectorPorts: [...replicas.values()].filter((r) => r.program === 'projector').map((r) => r.port),
    probeName: `drill-probe-${startMs}-${drill.name}`,
    startMs,
    since: loadStart,
  });
  const cpuBefore = drill.name === 'baseline' ? cpuByMember() : undefined;
  const bytesBefore = drill.name === 'baseline' ? await bytesByStore() : undefined;
  let ledger: Ledger | undefined;
  const tester = runTester(
    {
      commandUrl,
      queryUrl,
      rate,
      durationS: WARM_S + drill.faultS + AFTER_S,
      seed: 1000 + index,
      // Cookies of their own (the profile questions reach an hour before the first tag, into earlier drills).
      cookieSalt: Math.floor(startMs / 60_000),
      startTime: new Date(startMs).toISOString(),
      progress: 'never',
      tagTimeoutMs: timeoutMs,
      profileTimeoutMs: timeoutMs,
      maxInFlight: 10_000,
    },
    { onLedger: (l) => (ledger = l) },
  );
  await sleep(WARM_S * 1000);
  note('fault');
  await drill.inject(context(note));
  const faultEnd = Date.now();
  note('fault over');
  const report = await tester;
  note(`load over (${report.workload.tags} tags)`);
  previousEnd = startMs + report.workload.tags;
  const cpu = cpuBefore === undefined ? undefined : cpuPerTag(cpuBefore, cpuByMember(), report.workload.tags);
  watcher.stopProbes();

  // Settle: the log has stopped growing, both projections at lag 0 and every acknowledged probe
  // visible in both read models. A tag the tester gave up on may still be in an append (the command
  // API's queue wait and kafkajs's retries take a few seconds when a broker has just come back), so
  // the log counts as complete only once its end offsets have not moved for LOG_QUIET_MS.
  const settleStart = Date.now();
  let to = await endOffsets(admin);
  let quietSince = Date.now();
  while (Date.now() - settleStart < SETTLE_MAX_MS) {
    const ends = await endOffsets(admin);
    if ([...ends].some(([partition, end]) => end !== to.get(partition))) {
      to = ends;
      quietSince = Date.now();
    }
    const lag = currentLag(watcher.observation);
    const probesIn = watcher.observation.probes.every(
      (p) => p.ackedAt === undefined || (p.profileAt !== undefined && p.aggregatesAt !== undefined),
    );
    if (lag !== undefined && lag.aggregates === 0 && lag.profiles === 0 && probesIn && Date.now() - quietSince >= LOG_QUIET_MS) break;
    await sleep(1000);
  }
  const settleS = (Date.now() - settleStart) / 1000;
  note(`settled after ${settleS.toFixed(1)} s`);

  const shape = (ledger as Ledger).shape;
  const contents = await readLog(kafka, from, to, shape, report.workload.tags);
  const kept = durability(ledger as Ledger, contents);
  let answers = await checkAnswers(queryUrl, shape, contents, 1000 + index);
  const checkStart = Date.now();
  while ((answers.aggregatesWrong > 0 || answers.profilesWrong > 0) && Date.now() - checkStart < 60_000) {
    await sleep(5000);
    answers = await checkAnswers(queryUrl, shape, contents, 1000 + index);
  }
  const correctAfterS = (Date.now() - settleStart) / 1000;
  await sleep(drill.alerts.length > 0 ? 5000 : 0);
  await watcher.close();
  const bytes = bytesBefore === undefined ? undefined : bytesPerTag(bytesBefore, await bytesByStore(), report.workload.tags, contents);

  const o: Observation = watcher.observation;
  const profiles = freshness(o.probes, 'profileAt', 10_000, faultEnd);
  const aggregates = freshness(o.probes, 'aggregatesAt', 60_000, faultEnd);
  const e = report.endpoints;
  const result: DrillResult = {
    name: drill.name,
    title: drill.title,
    timeline,
    tags: report.workload.tags,
    durability: kept,
    answers,
    settleS,
    correctAfterS,
    ingest: {
      status503: e.tags.statuses['503'] ?? 0,
      timeouts: e.tags.timeouts,
      errors: e.tags.errors,
      longestNoSuccessS: longestNoSuccess(e.tags.series),
      p99Ms: e.tags.latencyMs.p99,
      maxMs: e.tags.latencyMs.max,
      over200Ms: e.tags.over200Ms,
    },
    queries: {
      status503: (e.profiles.statuses['503'] ?? 0) + (e.aggregates.statuses['503'] ?? 0),
      other5xx:
        statusCount(e.profiles.statuses, (s) => s >= 500 && s !== 503) + statusCount(e.aggregates.statuses, (s) => s >= 500 && s !== 503),
      timeouts: e.profiles.timeouts + e.aggregates.timeouts,
      longestNoSuccessS: longestNoSuccess(e.profiles.series),
    },
    inRun: {
      profilesWrong: report.correctness.profiles.wrong,
      profilesChecked: report.correctness.profiles.checked,
      aggregatesWrong: report.correctness.aggregates.wrong,
      aggregatesChecked: report.correctness.aggregates.checked,
    },
    freshness: {
      profilesWorstS: profiles.worstMs / 1000,
      profilesBackS: profiles.backWithinBudgetMs / 1000,
      aggregatesWorstS: aggregates.worstMs / 1000,
      aggregatesBackS: aggregates.backWithinBudgetMs / 1000,
    },
    peakLag: o.peakLag,
    alertsExpected: drill.alerts,
    alertsFired: [...o.firing.keys()].sort(),
    ...(cpu === undefined ? {} : { cpu }),
    ...(bytes === undefined ? {} : { bytes }),
    failures: [],
  };
  const fail = (what: string) => result.failures.push(what);
  if (kept.lost > 0) fail(`${kept.lost} acknowledged tags lost`);
  if (kept.twiceInLog > 0) fail(`${kept.twiceInLog} tags in the log twice`);
  if (kept.storedAfterRefusal > 0) fail(`${kept.storedAfterRefusal} tags stored after a 503 or 4xx`);
  if (answers.countedTwice > 0) fail(`${answers.countedTwice} tags counted twice in the aggregates`);
  if (answers.aggregatesWrong + answers.profilesWrong > 0) fail(`wrong after settle: ${answers.firstWrong}`);
  if (result.queries.other5xx > 0) fail(`${result.queries.other5xx} query answers 5xx other than 503`);
  if (settleS >= SETTLE_MAX_MS / 1000) fail('did not settle in 300 s');
  for (const alert of drill.alerts) if (!o.firing.has(alert)) fail(`alert ${alert} did not fire`);
  log(`  ${result.failures.length === 0 ? 'passed' : `FAILED: ${result.failures.join('; ')}`}`);
  return result;
}

function context(note: (event: string) => void): DrillContext {
  return {
    admin,
    kafka,
    ports,
    commandUrl,
    databaseUrl: env.DATABASE_URL as string,
    note,
    sleep,
    killReplica: (name) => {
      children.get(name)?.kill('SIGKILL');
    },
    stopReplica,
    restart: async (name, override = {}, ready = true) => {
      startReplica(name, override);
      if (!ready) return;
      const left = await waitReady([replicas.get(name) as Replica], 120_000);
      if (left.length > 0) throw new Error(`${name} not ready 120 s after its restart`);
    },
  };
}

/** Waits until the cluster is whole again: every replica ready, no under-replicated partition, a Patroni leader and sync standby. */
async function waitHealthy(): Promise<void> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const members = await patroniMembers(ports);
    const problems: string[] = [];
    if (!members.some((m) => m.role === 'leader' && m.state === 'running')) problems.push('no Patroni leader');
    if (!members.some((m) => m.role === 'sync_standby' && ['running', 'streaming'].includes(m.state))) problems.push('no sync standby');
    const urp = await underReplicated(admin).catch(() => -1);
    if (urp !== 0) problems.push(`${urp} under-replicated partitions`);
    const notReady = (await Promise.all([...replicas.values()].map(async (r) => ((await isReady(r.port)) ? '' : r.name)))).filter(
      (n) => n !== '',
    );
    if (notReady.length > 0) problems.push(`not ready: ${notReady.join(', ')}`);
    if (problems.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the cluster is not whole again after 180 s: ${problems.join('; ')}`);
    await sleep(2000);
  }
}

// ---------------------------------------------------------------- costs (baseline)
/** CPU seconds of each member's process tree (from /proc). */
function cpuByMember(): Record<string, number> {
  const ticks = 100;
  const parent = new Map<number, number>();
  const own = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
      own.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / ticks);
    } catch {
      // gone meanwhile
    }
  }
  const tree = (root: number) => {
    let sum = 0;
    for (const [pid, cpu] of own) {
      for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
        if (p === root) {
          sum += cpu;
          break;
        }
      }
    }
    return sum;
  };
  const out: Record<string, number> = {};
  for (const name of ['kafka-1', 'kafka-2', 'kafka-3', 'pg-1', 'pg-2', 'etcd-1', 'etcd-2', 'etcd-3', 'haproxy', 'prometheus']) {
    const pid = pidOf(name);
    if (pid !== undefined) out[name] = tree(pid);
    // Patroni's PostgreSQL daemonizes (its parent is init): its processes are a tree of their own.
    if (name.startsWith('pg-')) out[name] = (out[name] ?? 0) + tree(postmasterPid(name));
  }
  for (const [name, child] of children) if (child.pid !== undefined) out[name] = tree(child.pid);
  out.tester = process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
  return out;
}

/** µs of CPU per tag, per member, between two samples. */
function cpuPerTag(before: Record<string, number>, after: Record<string, number>, tags: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, cpu] of Object.entries(after)) out[name] = Math.round(((cpu - (before[name] ?? 0)) * 1e6) / tags);
  return out;
}

function folderBytes(path: string): number {
  let sum = 0;
  try {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      sum += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
    }
  } catch {
    // missing: 0
  }
  return sum;
}

async function bytesByStore(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let kafkaBytes = 0;
  for (const i of KAFKA_NODES) {
    const dir = join(clusterDir, `kafka-${i}`, 'data');
    for (const entry of readdirSync(dir)) if (/^user-tags-\d+$/.test(entry)) kafkaBytes += folderBytes(join(dir, entry));
  }
  out.kafka = kafkaBytes;
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  const { rows } = await client.query(
    `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')`,
  );
  const wal = await client.query(`SELECT pg_current_wal_lsn() - '0/0'::pg_lsn AS wal`);
  await client.end();
  out.postgres = Number(rows[0].bytes);
  out.postgresWal = Number(wal.rows[0].wal);
  if (env.PROFILE_STORE_PATH !== undefined) out.profiles = folderBytes(join(env.PROFILE_STORE_PATH, '..'));
  return out;
}

function bytesPerTag(
  before: Record<string, number>,
  after: Record<string, number>,
  tags: number,
  contents: { records: number },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(after))
    out[name] = Math.round(((value - (before[name] ?? 0)) / Math.max(1, contents.records || tags)) * 10) / 10;
  return out;
}

// ---------------------------------------------------------------- dashboards and alert rules
async function checkDashboards(): Promise<string[]> {
  const dashboard = JSON.parse(readFileSync(join(repo, 'infra/grafana/dashboards/usertags.json'), 'utf8')) as { panels: Panel[] };
  interface Panel {
    title: string;
    panels?: Panel[];
    targets?: Array<{ expr?: string }>;
  }
  const empty: string[] = [];
  const walk = async (panels: readonly Panel[]) => {
    for (const panel of panels) {
      if (panel.panels) await walk(panel.panels);
      for (const target of panel.targets ?? []) {
        if (target.expr === undefined) continue;
        const expr = target.expr.replaceAll('$__rate_interval', '5m');
        const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = (await res.json()) as { status: string; data?: { result: unknown[] } };
        if (body.status !== 'success' || (body.data?.result.length ?? 0) === 0) empty.push(`${panel.title}: ${target.expr}`);
      }
    }
  };
  await walk(dashboard.panels);
  return empty;
}

function alertNames(): string[] {
  const rules = parse(readFileSync(join(repo, 'infra/prometheus/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert?: string }> }>;
  };
  return rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])));
}

// ---------------------------------------------------------------- report
function markdown(results: readonly DrillResult[], panelsEmpty: readonly string[], alertsNever: readonly string[]): string {
  const lines = [
    `# Fault drills on the local cluster — ${new Date().toISOString()}`,
    '',
    `\`./run.sh test:cluster${wanted.length > 0 ? ` ${wanted.join(' ')}` : ''}\` — ${rate} tags/s with the full query mix, fault ${WARM_S} s in, load ${AFTER_S} s after it; profiles in ${env.AEROSPIKE_HOSTS ? 'Aerospike' : 'the embedded store'}.`,
    '',
    `| drill | tags | acked lost | twice in log | 503 then stored | counted twice | wrong after settle | tags 503 / no answer in ${timeoutMs / 1000} s | tag p99 / max (ms), over 200 ms | no ingest (s) | query 503 / other 5xx | no query (s) | in-run wrong (profiles, aggregates) | freshness worst / back within budget after fault (s): profiles, aggregates | peak lag (aggregates, profiles) | settle (s) | alerts fired | result |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(
      [
        '',
        r.name,
        r.tags.toLocaleString('en'),
        r.durability.lost,
        r.durability.twiceInLog,
        r.durability.storedAfterRefusal,
        r.answers.countedTwice,
        r.answers.aggregatesWrong + r.answers.profilesWrong,
        `${r.ingest.status503} / ${r.ingest.timeouts}`,
        `${r.ingest.p99Ms.toFixed(0)} / ${r.ingest.maxMs.toFixed(0)}, ${r.ingest.over200Ms}`,
        r.ingest.longestNoSuccessS,
        `${r.queries.status503} / ${r.queries.other5xx}`,
        r.queries.longestNoSuccessS,
        `${r.inRun.profilesWrong}/${r.inRun.profilesChecked}, ${r.inRun.aggregatesWrong}/${r.inRun.aggregatesChecked}`,
        `${r.freshness.profilesWorstS.toFixed(1)} / ${r.freshness.profilesBackS.toFixed(0)}, ${r.freshness.aggregatesWorstS.toFixed(1)} / ${r.freshness.aggregatesBackS.toFixed(0)}`,
        `${r.peakLag.aggregates ?? 0}, ${r.peakLag.profiles ?? 0}`,
        r.settleS.toFixed(0),
        r.alertsFired.join(', ') || '—',
        r.failures.length === 0 ? 'pass' : `**FAIL**: ${r.failures.join('; ')}`,
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
  lines.push('', '## Timelines', '');
  for (const r of results) lines.push(`- **${r.name}** (${r.title}): ${r.timeline.join('; ')}`);
  const baseline = results.find((r) => r.name === 'baseline');
  if (baseline?.cpu) {
    lines.push('', '## Costs per tag in the baseline drill', '', '| member | CPU µs per tag |', '|---|---|');
    for (const [name, us] of Object.entries(baseline.cpu)) lines.push(`| ${name} | ${us} |`);
    lines.push('', '| store | bytes per record of the tag topic |', '|---|---|');
    for (const [name, b] of Object.entries(baseline.bytes ?? {})) lines.push(`| ${name} | ${b} |`);
  }
  lines.push('', '## Dashboards and alerts', '');
  lines.push(
    panelsEmpty.length === 0
      ? '- every dashboard panel query returned series from Prometheus'
      : `- panels with no series: ${panelsEmpty.join('; ')}`,
  );
  if (wanted.length > 0) lines.push('- alert coverage is checked only when every drill runs');
  else
    lines.push(
      alertsNever.length === 0 ? '- every alert rule fired in a drill' : `- alerts that fired in no drill: ${alertsNever.join(', ')}`,
    );
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------- main
const results: DrillResult[] = [];
let failed = false;
try {
  for (const [i, drill] of drills.entries()) {
    await waitHealthy();
    results.push(await runDrill(drill, i));
    if (results[results.length - 1]?.failures.length) failed = true;
    // What is known so far, in case a later drill cannot finish.
    writeFileSync(join(repo, 'docs/bench-results/cluster-drills.partial.json'), `${JSON.stringify({ rate, results }, null, 2)}\n`);
  }
  await waitHealthy();
} catch (error) {
  failed = true;
  log(`stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
const panelsEmpty = await checkDashboards().catch((error: unknown) => [`Prometheus not asked: ${String(error)}`]);
const fired = new Set(results.flatMap((r) => r.alertsFired));
const alertsNever = wanted.length === 0 ? alertNames().filter((a) => !fired.has(a)) : [];
if (wanted.length === 0 && (panelsEmpty.length > 0 || alertsNever.length > 0)) failed = true;

const out = join(repo, 'docs/bench-results');
mkdirSync(out, { recursive: true });
const md = markdown(results, panelsEmpty, alertsNever);
writeFileSync(join(out, 'cluster-drills.md'), md);
writeFileSync(join(out, 'cluster-drills.json'), `${JSON.stringify({ rate, results, panelsEmpty, alertsNever }, null, 2)}\n`);
process.stdout.write(md);

await admin.disconnect();
for (const name of children.keys()) {
  await stopReplica(name);
  rmSync(join(runDir, `${name}.pid`), { force: true });
}
if (!wasUp && process.env.KEEP_CLUSTER !== '1')
  execFileSync('bash', [clusterSh, 'down'], { stdio: 'inherit', env: { ...process.env, CLUSTER_DIR: clusterDir } });
process.exit(failed ? 1 : 0);
