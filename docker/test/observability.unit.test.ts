// Static checks of the monitoring configuration: Prometheus scrapes every
// program on the port it listens on, and every Grafana panel queries series
// that the programs really export, with labels they really carry.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  COMPOSE_FILE,
  CONFIG_SCHEMAS,
  type ComposeFile,
  environmentOf,
  isRecord,
  loadComposeFile,
  PROGRAMS,
  type Program,
  programOf,
  readText,
  readYaml,
  type Service,
  STATELESS_STACK,
} from './deployment-files.ts';
import { exportedSeries, jobsSelected, PROMETHEUS_SERIES, type SeriesLabels, selectorsOf, TARGET_LABELS } from './metric-queries.ts';

interface ScrapeConfig {
  readonly job_name: string;
  readonly static_configs?: { targets: string[] }[];
  readonly dns_sd_configs?: { names: string[]; type: string; port: number }[];
}

/** Each Prometheus config with the compose or stack file whose services it scrapes. */
const PROMETHEUS_CONFIGS = [
  { path: 'infra/prometheus/prometheus.yml', deployment: COMPOSE_FILE },
  { path: 'infra/prometheus/prometheus.swarm.yml', deployment: STATELESS_STACK },
] as const;

function scrapeConfigs(path: string): ScrapeConfig[] {
  return (readYaml(path) as { scrape_configs: ScrapeConfig[] }).scrape_configs;
}

/** `host:port` of every target a scrape config names; `tasks.<service>` stands for every replica of the service. */
function targetsOf(config: ScrapeConfig): { service: string; port: number }[] {
  const fromStatic = (config.static_configs ?? []).flatMap((s) =>
    s.targets.map((t) => ({ service: t.split(':')[0] as string, port: Number(t.split(':')[1]) })),
  );
  const fromDns = (config.dns_sd_configs ?? []).flatMap((d) => {
    assert.equal(d.type, 'A', `${config.job_name}: only A records list the replicas`);
    return d.names.map((n) => {
      assert.match(n, /^tasks\./, `${config.job_name}: ${n} would reach one replica through the service's virtual IP`);
      return { service: n.slice('tasks.'.length), port: d.port };
    });
  });
  return [...fromStatic, ...fromDns];
}

function portOf(service: Service, program: Program): number {
  return (CONFIG_SCHEMAS[program].parse(environmentOf(service)) as { PORT: number }).PORT;
}

describe('Prometheus', () => {
  for (const { path, deployment } of PROMETHEUS_CONFIGS) {
    const file: ComposeFile = loadComposeFile(deployment);

    it(`${path} has one job per program, named after it`, () => {
      assert.deepEqual(
        scrapeConfigs(path)
          .map((c) => c.job_name)
          .sort(),
        [...PROGRAMS].sort(),
      );
    });

    it(`${path} scrapes every ${deployment} service of each program on the PORT it listens on`, () => {
      for (const config of scrapeConfigs(path)) {
        const scraped = new Set<string>();
        for (const { service, port } of targetsOf(config)) {
          const s = file.services[service];
          assert.ok(s !== undefined, `${config.job_name}: no service ${service} in ${deployment}`);
          assert.equal(programOf(s), config.job_name, `${config.job_name}: ${service} runs another program`);
          assert.equal(port, portOf(s, config.job_name as Program), `${config.job_name}: ${service} listens elsewhere`);
          scraped.add(service);
        }
        const expected = Object.entries(file.services).filter(([, s]) => programOf(s) === config.job_name);
        assert.deepEqual([...scraped].sort(), expected.map(([n]) => n).sort(), `${config.job_name}: not every service is scraped`);
      }
    });

    it(`${deployment} runs Prometheus with ${path}`, () => {
      const prometheus = file.services.prometheus as Service;
      const mounted = [
        ...(prometheus.volumes ?? []).flatMap((v) =>
          typeof v === 'string' && v.includes('/etc/prometheus/prometheus.yml') ? [v.split(':')[0]] : [],
        ),
        ...(prometheus.configs ?? []).flatMap((c) =>
          typeof c !== 'string' && c.target === '/etc/prometheus/prometheus.yml' ? [file.configs?.[c.source]?.file] : [],
        ),
      ];
      assert.deepEqual(
        mounted.map((m) => posix.normalize(join(dirname(deployment), m as string))),
        [path],
      );
    });
  }
});

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type: string; uid: string };
  readonly targets?: { expr: string; datasource?: { uid: string } }[];
  readonly panels?: Panel[];
}

const DASHBOARD_DIR = 'infra/grafana/dashboards';
const dashboards = readdirSync(join(dirname(new URL(import.meta.url).pathname), '../..', DASHBOARD_DIR)).filter((f) => f.endsWith('.json'));

function panelsOf(path: string): Panel[] {
  const flatten = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
  return flatten((JSON.parse(readText(path)) as { panels: Panel[] }).panels).filter((p) => p.type !== 'row');
}

describe('Grafana', () => {
  const exported = new Map<Program, SeriesLabels>();
  before(async () => {
    for (const program of PROGRAMS) exported.set(program, await exportedSeries(program));
  });
  const jobs = [...new Set(PROMETHEUS_CONFIGS.flatMap(({ path }) => scrapeConfigs(path).map((c) => c.job_name)))];
  const datasources = (
    readYaml('infra/grafana/provisioning/datasources/datasources.yaml') as { datasources: { uid: string; type: string; url: string }[] }
  ).datasources;

  it('reads the programs’ metrics from their registries', () => {
    // The test's view of /metrics: a histogram shows as its series, labels as declared.
    const commandApi = exported.get('command-api');
    assert.deepEqual([...(commandApi?.get('http_request_duration_seconds_bucket') ?? [])].sort(), ['le', 'method', 'route', 'status']);
    assert.ok(commandApi?.has('process_cpu_seconds_total'));
    assert.equal(exported.get('query-api')?.has('user_tags_appended_total'), false);
  });

  it('finds the series in PromQL expressions', () => {
    assert.deepEqual(
      selectorsOf(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job="x", route=~"/a|/b"}[$__rate_interval]))) / on (job) b_total offset 1h',
      ),
      [
        {
          metric: 'a_bucket',
          matchers: [
            { label: 'job', op: '=', value: 'x' },
            { label: 'route', op: '=~', value: '/a|/b' },
          ],
        },
        { metric: 'b_total', matchers: [] },
      ],
    );
    assert.deepEqual(jobsSelected({ metric: 'up', matchers: [{ label: 'job', op: '=~', value: 'command-api|projector' }] }, PROGRAMS), [
      'command-api',
      'projector',
    ]);
  });

  it('provisions the data sources of the services the stacks run', () => {
    for (const path of [COMPOSE_FILE, STATELESS_STACK]) {
      const file = loadComposeFile(path);
      for (const ds of datasources) {
        const host = new URL(ds.url).hostname;
        assert.ok(file.services[host] !== undefined, `${path} has no ${host} for data source ${ds.uid}`);
      }
    }
  });

  it('loads the dashboards from where compose and the swarm stack put them', () => {
    const provider = readYaml('infra/grafana/provisioning/dashboards/dashboards.yaml') as { providers: { options: { path: string } }[] };
    const folder = provider.providers[0]?.options.path as string;
    const compose = loadComposeFile(COMPOSE_FILE).services.grafana as Service;
    assert.ok(
      (compose.volumes ?? []).some((v) => typeof v === 'string' && v.startsWith(`../${DASHBOARD_DIR}:${folder}`)),
      'compose does not mount the dashboards there',
    );
    const stack = loadComposeFile(STATELESS_STACK);
    const targets = ((stack.services.grafana as Service).configs ?? []).flatMap((c) =>
      typeof c === 'string' ? [] : [{ target: c.target ?? '', file: stack.configs?.[c.source]?.file ?? '' }],
    );
    for (const dashboard of dashboards) {
      assert.ok(
        targets.some((t) => t.target === `${folder}/${dashboard}` && t.file.endsWith(`${DASHBOARD_DIR}/${dashboard}`)),
        `the swarm stack does not ship ${dashboard}`,
      );
    }
  });

  for (const dashboard of dashboards) {
    const path = `${DASHBOARD_DIR}/${dashboard}`;
    const panels = panelsOf(path);

    it(`${dashboard}: every panel queries a provisioned Prometheus data source`, () => {
      assert.ok(panels.length > 0);
      const prometheus = new Set(datasources.filter((d) => d.type === 'prometheus').map((d) => d.uid));
      for (const panel of panels) {
        assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
        assert.ok(prometheus.has(panel.datasource?.uid ?? ''), `${panel.title}: data source ${panel.datasource?.uid}`);
        for (const t of panel.targets ?? []) assert.ok(prometheus.has(t.datasource?.uid ?? panel.datasource?.uid ?? ''), panel.title);
      }
    });

    it(`${dashboard}: every query selects series the scraped programs export, by labels they carry`, () => {
      for (const panel of panels) {
        for (const { expr } of panel.targets ?? []) {
          const selectors = selectorsOf(expr);
          assert.ok(selectors.length > 0, `${panel.title}: no series in ${expr}`);
          for (const selector of selectors) {
            const where = `${panel.title}: ${selector.metric} in ${expr}`;
            assert.notEqual(selector.metric, '', `${panel.title}: a selector without a metric name in ${expr}`);
            for (const m of selector.matchers.filter((x) => x.label === 'job' && (x.op === '=' || x.op === '=~'))) {
              for (const job of m.op === '=' ? [m.value] : m.value.split('|'))
                assert.ok(jobs.includes(job), `${where}: no scrape job ${job}`);
            }
            const selected = jobsSelected(selector, jobs) as Program[];
            assert.ok(selected.length > 0, `${where}: selects no scrape job`);
            const prometheusOwn = PROMETHEUS_SERIES.get(selector.metric);
            const sources =
              prometheusOwn !== undefined
                ? selected.map(() => prometheusOwn)
                : selected.map((job) => exported.get(job)?.get(selector.metric));
            const exporting = sources.filter((labels): labels is ReadonlySet<string> => labels !== undefined);
            assert.ok(exporting.length > 0, `${where}: not exported by ${selected.join(', ')}`);
            if (selector.matchers.some((m) => m.label === 'job' && m.op === '='))
              assert.equal(exporting.length, selected.length, `${where}: not exported by ${selected.join(', ')}`);
            for (const m of selector.matchers) {
              const known = exporting.some((labels) => labels.has(m.label)) || (TARGET_LABELS as readonly string[]).includes(m.label);
              assert.ok(known, `${where}: no label ${m.label}`);
            }
          }
        }
      }
    });
  }

  it('the dashboards show ingest, produce latency, lag, projection, queries, debug matches, errors, CPU and memory', () => {
    const metrics = new Set(
      dashboards.flatMap((d) =>
        panelsOf(`${DASHBOARD_DIR}/${d}`).flatMap((p) => (p.targets ?? []).flatMap((t) => selectorsOf(t.expr).map((s) => s.metric))),
      ),
    );
    for (const m of [
      'user_tags_appended_total',
      'http_request_duration_seconds_bucket',
      'event_log_append_duration_seconds_bucket',
      'projector_consumer_lag',
      'projector_events_applied_total',
      'debug_comparisons_total',
      'user_tags_rejected_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(metrics.has(m), `no panel shows ${m}`);
    }
  });

  it('dashboard JSON is well formed', () => {
    for (const d of dashboards) assert.ok(isRecord(JSON.parse(readText(`${DASHBOARD_DIR}/${d}`))));
  });
});
