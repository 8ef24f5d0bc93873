import type { QueryScoreSummary } from '../core/scoring.ts';
import { ENDPOINTS, type EndpointName, type Report } from './model.ts';

export const ENDPOINT_TITLES: Record<EndpointName, string> = {
  tags: 'POST /user_tags',
  profiles: '/user_profiles',
  aggregates: '/aggregates',
};

const n = (v: number) => v.toLocaleString('en');
const p = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(2)} %`);

/** The rows of the correctness table: one per query type. */
export function correctnessRows(r: Report): string[][] {
  const row = (name: string, s: QueryScoreSummary) => [
    name,
    p(s.correctPercent),
    n(s.correct),
    n(s.checked),
    n(s.wrong),
    n(s.failed),
    n(s.unchecked),
    n(s.warmingUp),
  ];
  return [row('profiles', r.correctness.profiles), row('aggregates', r.correctness.aggregates)];
}
export const CORRECTNESS_HEADER = ['query', 'correct', 'correct (n)', 'checked', 'wrong', 'failed', 'unchecked', 'warming up'];

/** The rows of the endpoint table. */
export function endpointRows(r: Report): string[][] {
  return ENDPOINTS.map((e) => {
    const s = r.endpoints[e];
    return [
      ENDPOINT_TITLES[e],
      n(s.issued),
      n(s.sent),
      String(s.sentPerSecond),
      n(s.ok),
      p(s.okPercent),
      n(s.non2xx),
      n(s.timeouts),
      n(s.errors),
      n(s.dropped),
      String(s.latencyMs.p50),
      String(s.latencyMs.p90),
      String(s.latencyMs.p99),
      String(s.latencyMs.max),
    ];
  });
}
export const ENDPOINT_HEADER = [
  'endpoint',
  'issued',
  'sent',
  'sent/s',
  '2xx',
  '2xx of issued',
  'non-2xx',
  'timeouts',
  'conn. errors',
  'dropped',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'max ms',
];

function table(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join(
    '\n',
  );
}

/** The run as a short line of text: where, how fast, how long, which stream. */
export function runSummary(r: Report): string {
  const o = r.options;
  return (
    `${n(r.workload.tags)} tags at a target of ${n(o.rate)}/s for ${r.sendingSeconds.toFixed(1)} s` +
    `${r.stoppedEarly ? ' (stopped early)' : ''}; seed ${o.seed}, ${n(o.cookies)} cookies (skew ${o.cookieSkew}), ` +
    `event times ${r.workload.firstEventTime ?? '-'} to ${r.workload.lastEventTime ?? '-'}; ` +
    `command API ${o.commandUrl}, query API ${o.queryUrl}; at most ${n(o.maxInFlight)} requests in flight per endpoint.`
  );
}

/** The report as Markdown. */
export function renderMarkdown(r: Report): string {
  const lines: string[] = [];
  lines.push('# usertags tester report', '');
  lines.push(`Started ${r.startedAt}. ${runSummary(r)}`, '');
  lines.push('## Correctness', '');
  lines.push(table(CORRECTNESS_HEADER, correctnessRows(r)), '');
  lines.push(
    '`correct` is correct answers of checked queries (sent with the expected answer); `failed` counts timeouts and non-2xx answers; ' +
      '`unchecked` queries were sent without an expected answer because it depended on a tag whose fate the tester does not know.',
    '',
  );
  for (const kind of ['profiles', 'aggregates'] as const) {
    const s = r.correctness[kind];
    const reasons = Object.entries(s.uncheckedReasons);
    if (reasons.length > 0) {
      lines.push(`Why ${kind} queries were unchecked:`, '');
      for (const [reason, count] of reasons) lines.push(`- ${n(count)} × ${reason}`);
      lines.push('');
    }
    if (s.examples.length > 0) {
      lines.push(`First wrong or failed ${kind} answers:`, '');
      for (const e of s.examples) lines.push(`- \`${e.request}\` — ${e.verdict}`);
      lines.push('');
    }
  }
  lines.push('## Endpoints', '');
  lines.push(table(ENDPOINT_HEADER, endpointRows(r)), '');
  lines.push('Latencies are of answered requests; timeouts and connection errors are counted apart.', '');
  for (const e of ENDPOINTS) {
    const statuses = Object.entries(r.endpoints[e].statuses);
    if (statuses.length > 0) lines.push(`- ${ENDPOINT_TITLES[e]} answers: ${statuses.map(([s, c]) => `${s} × ${n(c)}`).join(', ')}`);
  }
  lines.push('', `The scheduler issued its slots at most ${r.workload.maxSchedulerLagMs} ms late.`, '');
  return `${lines.join('\n')}\n`;
}
