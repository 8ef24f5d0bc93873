// The alert rules (infra/prometheus/alerts.yml): every series they select is exported by the programs
// with the labels they match on; every Prometheus of the project loads them; promtool accepts them
// and each alert fires on synthetic series (infra/prometheus/alerts.test.yml) where promtool is installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { createMetrics as createCommandApiMetrics } from '../../command-api/src/metrics.ts';
import { localPrometheusConfig, readPorts } from '../../infra/cluster/configs.ts';
import { createMetrics as createQueryApiMetrics } from '../../query-api/src/metrics.ts';
import { COMPOSE_FILE, loadComposeFile, PROGRAMS, type Program, readText, repo, STATELESS_STACK } from './deployment-files.ts';
import { exportedSeries, PROMETHEUS_SERIES, type SeriesLabels, selectorsOf, TARGET_LABELS } from './metric-queries.ts';

interface Rule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
}
const rules = (parse(readText('infra/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));

describe('alert rules', () => {
  const exported = new Map<Program, SeriesLabels>();
  before(async () => {
    for (const program of PROGRAMS) exported.set(program, await exportedSeries(program));
  });

  it('alert on what an operator must act on', () => {
    assert.deepEqual(rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])).sort(), [
      'AggregateStoreUnreachable',
      'DeadLetters',
      'DebugModeMismatches',
      'IngestUnavailable',
      'ProjectorLagGrowing',
      'ProjectorRefusesLog',
      'TargetDown',
    ]);
  });

  it('select series the programs export, by labels they carry', () => {
    for (const rule of rules) {
      for (const selector of selectorsOf(rule.expr)) {
        if (recorded.has(selector.metric)) continue;
        const where = `${rule.alert ?? rule.record}: ${selector.metric}`;
        const own = PROMETHEUS_SERIES.get(selector.metric);
        const sources = own !== undefined ? [own] : PROGRAMS.flatMap((p) => exported.get(p)?.get(selector.metric) ?? []);
        assert.ok(sources.length > 0, `${where}: no program exports it`);
        for (const m of selector.matchers) {
          const known = sources.some((labels) => labels.has(m.label)) || (TARGET_LABELS as readonly string[]).includes(m.label);
          assert.ok(known, `${where}: no label ${m.label}`);
        }
      }
    }
  });

  it('are loaded by the compose, swarm and local-cluster Prometheus', () => {
    for (const path of ['infra/prometheus/prometheus.yml', 'infra/prometheus/prometheus.swarm.yml']) {
      assert.deepEqual((parse(readText(path)) as { rule_files?: string[] }).rule_files, ['alerts.yml'], path);
    }
    const compose = loadComposeFile(COMPOSE_FILE).services.prometheus;
    assert.ok(
      (compose?.volumes ?? []).some(
        (v) => typeof v === 'string' && v.startsWith('../infra/prometheus/alerts.yml:/etc/prometheus/alerts.yml'),
      ),
      'compose mounts alerts.yml beside prometheus.yml',
    );
    const swarm = loadComposeFile(STATELESS_STACK);
    const mounted = (swarm.services.prometheus?.configs ?? []).find(
      (c) => typeof c !== 'string' && c.target === '/etc/prometheus/alerts.yml',
    );
    assert.ok(mounted !== undefined && typeof mounted !== 'string', 'the swarm stack gives Prometheus alerts.yml');
    assert.equal(swarm.configs?.[mounted.source]?.file, '../../infra/prometheus/alerts.yml');
    const local = parse(localPrometheusConfig(readText('infra/prometheus/prometheus.yml'), readPorts())) as { rule_files?: string[] };
    assert.deepEqual(local.rule_files, ['alerts.yml'], 'the local cluster (its generator copies alerts.yml beside it)');
  });

  it('pass promtool check rules and fire on synthetic series in promtool test rules (where promtool is installed)', (t) => {
    try {
      execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    } catch {
      t.skip('promtool is not installed (Debian package prometheus; ./run.sh cluster:up installs it)');
      return;
    }
    const cwd = `${repo}/infra/prometheus`;
    execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd, stdio: 'pipe' });
    const out = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd, encoding: 'utf8' });
    assert.match(out, /SUCCESS/);
  });
});

describe('series the alerts count with increase()', () => {
  // A labelled counter that appears only when it first counts starts at 1, and increase() over its
  // first samples is 0: the first dead letter or mismatch would never fire an alert. So they exist at 0.
  it('exist at 0 before anything happened', async () => {
    const commandApi = await createCommandApiMetrics(() => 0).registry.metrics();
    assert.match(commandApi, /^event_log_append_duration_seconds_count\{outcome="error"\} 0$/m);
    assert.match(commandApi, /^user_tags_rejected_total\{reason="LOG_UNAVAILABLE"\} 0$/m);
    const queryApi = await createQueryApiMetrics().registry.metrics();
    assert.match(queryApi, /^debug_comparisons_total\{endpoint="user_profiles",result="mismatch"\} 0$/m);
    assert.match(queryApi, /^debug_comparisons_total\{endpoint="aggregates",result="mismatch"\} 0$/m);
  });
});
