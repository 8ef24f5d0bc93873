// What the programs export on /metrics (read from their own registries, not
// from a list kept here), and the series a PromQL expression selects.
import { createMetrics as createCommandApiMetrics } from '../../command-api/src/metrics.ts';
import { createProjectorMetrics } from '../../projector/src/metrics.ts';
import { createMetrics as createQueryApiMetrics } from '../../query-api/src/metrics.ts';
import type { Program } from './deployment-files.ts';

/** Exported series name → the label names it carries. */
export type SeriesLabels = ReadonlyMap<string, ReadonlySet<string>>;

/** Labels Prometheus adds to every scraped series. */
export const TARGET_LABELS = ['job', 'instance'] as const;

/** Series Prometheus itself writes for every scrape target. */
export const PROMETHEUS_SERIES: SeriesLabels = new Map([['up', new Set<string>()]]);

// The registry type through the programs' own modules: prom-client is their dependency, not this folder's.
type Registry = ReturnType<typeof createQueryApiMetrics>['registry'];

const registries: Record<Program, () => Registry> = {
  'command-api': () => createCommandApiMetrics(() => 0).registry,
  'query-api': () => createQueryApiMetrics().registry,
  projector: () => createProjectorMetrics().registry,
};

/** The series a program's registry exposes: a histogram's `_bucket`, `_sum` and `_count`, a summary's quantiles, `_sum` and `_count`. */
export async function exportedSeries(program: Program): Promise<SeriesLabels> {
  const registry = registries[program]();
  const series = new Map<string, Set<string>>();
  for (const metric of await registry.getMetricsAsJSON()) {
    // prom-client keeps the declared label names on the metric object; its typings do not show them.
    const declared = (registry.getSingleMetric(metric.name) as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    const labels = new Set(declared);
    const type = String(metric.type);
    if (type === 'histogram') {
      series.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
      series.set(`${metric.name}_sum`, labels);
      series.set(`${metric.name}_count`, labels);
    } else if (type === 'summary') {
      series.set(metric.name, new Set([...labels, 'quantile']));
      series.set(`${metric.name}_sum`, labels);
      series.set(`${metric.name}_count`, labels);
    } else {
      series.set(metric.name, labels);
    }
  }
  return series;
}

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'atan2',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'punct'; text: string }
  | { kind: 'other'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const space = /^\s+/.exec(rest);
    if (space !== null) {
      i += space[0].length;
      continue;
    }
    const quote = rest[0] as string;
    if (quote === '"' || quote === "'" || quote === '`') {
      let j = 1;
      let text = '';
      while (j < rest.length && rest[j] !== quote) {
        if (rest[j] === '\\' && quote !== '`') j++;
        text += rest[j];
        j++;
      }
      if (j >= rest.length) throw new Error(`unterminated string in ${expr}`);
      tokens.push({ kind: 'string', text });
      i += j + 1;
      continue;
    }
    if (quote === '[') {
      // A range or subquery: durations and Grafana variables, no series.
      const end = rest.indexOf(']');
      if (end < 0) throw new Error(`unterminated range in ${expr}`);
      tokens.push({ kind: 'other', text: rest.slice(0, end + 1) });
      i += end + 1;
      continue;
    }
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest);
    if (ident !== null) {
      tokens.push({ kind: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    // Numbers and durations (`1h`, `0.99`, `1e3`) in one token, so their unit is not read as a name.
    const number = /^[0-9.][0-9a-zA-Z.]*/.exec(rest);
    if (number !== null) {
      tokens.push({ kind: 'other', text: number[0] });
      i += number[0].length;
      continue;
    }
    const variable = /^\$\w+/.exec(rest);
    if (variable !== null) {
      tokens.push({ kind: 'other', text: variable[0] });
      i += variable[0].length;
      continue;
    }
    const punct = /^(=~|!~|!=|==|<=|>=|[-+*/%^(){},=<>!])/.exec(rest);
    if (punct === null) throw new Error(`unexpected ${rest.slice(0, 10)} in ${expr}`);
    tokens.push({ kind: 'punct', text: punct[0] });
    i += punct[0].length;
  }
  return tokens;
}

/**
 * The series selectors of a PromQL expression: every metric name with its
 * label matchers. Function and aggregation names, keywords, grouping label
 * lists, strings, numbers, durations and Grafana variables are skipped. A
 * selector without a metric name (`{job="x"}`) is reported with metric ''.
 */
export function selectorsOf(expr: string): Selector[] {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  let i = 0;
  const at = (k: number) => tokens[k];
  const readMatchers = (): Matcher[] => {
    // tokens[i] is '{'
    const matchers: Matcher[] = [];
    i++;
    while (at(i)?.text !== '}') {
      const label = at(i);
      const op = at(i + 1);
      const value = at(i + 2);
      if (label?.kind !== 'ident' || op?.kind !== 'punct' || value?.kind !== 'string') throw new Error(`bad label matcher in ${expr}`);
      if (!['=', '!=', '=~', '!~'].includes(op.text)) throw new Error(`bad matcher operator ${op.text} in ${expr}`);
      matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
      i += 3;
      if (at(i)?.text === ',') i++;
    }
    i++;
    return matchers;
  };
  while (i < tokens.length) {
    const token = tokens[i] as Token;
    if (token.kind === 'ident' && GROUPING.has(token.text) && at(i + 1)?.text === '(') {
      i = tokens.findIndex((t, k) => k > i && t.text === ')') + 1;
      continue;
    }
    // A name followed by `(` is a function or aggregation, and so is one followed by its grouping (`sum by (x) (…)`).
    const next = at(i + 1)?.text;
    if (token.kind === 'ident' && !KEYWORDS.has(token.text) && next !== '(' && next !== 'by' && next !== 'without') {
      i++;
      selectors.push({ metric: token.text, matchers: at(i)?.text === '{' ? readMatchers() : [] });
      continue;
    }
    if (token.text === '{') {
      selectors.push({ metric: '', matchers: readMatchers() });
      continue;
    }
    i++;
  }
  return selectors;
}

/** The programs a selector's `job` matcher picks out of `jobs` (all of them when it has none). */
export function jobsSelected(selector: Selector, jobs: readonly string[]): string[] {
  let selected = [...jobs];
  for (const m of selector.matchers.filter((x) => x.label === 'job')) {
    const re = new RegExp(`^(?:${m.value})$`);
    const test = (job: string) =>
      m.op === '=' ? job === m.value : m.op === '!=' ? job !== m.value : m.op === '=~' ? re.test(job) : !re.test(job);
    selected = selected.filter(test);
  }
  return selected;
}
