// Static checks of the local cluster (infra/cluster): its HAProxy and
// Prometheus configurations are generated from the deployment's own files and
// keep every section, check and job of them; its ports are distinct.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { localHaproxyConfig, localPrometheusConfig, programTargets, readPorts } from '../../infra/cluster/configs.ts';
import { readText } from './deployment-files.ts';

const ports = readPorts();
const swarmHaproxy = readText('infra/haproxy/haproxy.cfg');
const localHaproxy = localHaproxyConfig(swarmHaproxy, ports);

/** listen sections → their lines, without the addresses (bind, server) that differ by design. */
function sections(cfg: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of cfg.split('\n')) {
    const head = /^listen (\S+)/.exec(line);
    if (head) {
      current = [];
      out.set(head[1] as string, current);
    } else if (/^\S/.test(line)) current = undefined;
    else if (current && line.trim() !== '' && !/^\s*(bind|server) /.test(line)) {
      current.push(
        line
          .trim()
          .replace(/ resolvers swarm/, '')
          .replace(/ init-addr \S+/, ''),
      );
    }
  }
  return out;
}

function servers(cfg: string, section: string): string[] {
  const body = cfg.split(/^listen /m).find((s) => s.startsWith(`${section}\n`)) ?? '';
  return [...body.matchAll(/^\s*server (\S+)/gm)].map((m) => m[1] as string);
}

describe('local cluster (infra/cluster)', () => {
  it('has distinct ports, none of the single-node stack', () => {
    const values = Object.values(ports);
    assert.ok(values.length > 30);
    assert.equal(new Set(values).size, values.length, 'a port is used twice in infra/cluster/ports.env');
    for (const taken of [5432, 9092, 9093, 8080, 8081, 8082]) assert.ok(!values.includes(taken));
  });

  it('HAProxy keeps every section and check of infra/haproxy/haproxy.cfg', () => {
    const swarm = sections(swarmHaproxy);
    const local = sections(localHaproxy);
    assert.ok(swarm.size >= 3);
    for (const [name, lines] of swarm) {
      assert.deepEqual(local.get(name), lines, `listen ${name} differs from the deployment's`);
      assert.deepEqual(servers(localHaproxy, name), servers(swarmHaproxy, name), `listen ${name} has other servers`);
    }
    assert.doesNotMatch(localHaproxy, /resolvers|pg-\d+:5432|\*:/);
  });

  it('HAProxy routes to the Patroni nodes and API replicas of ports.env', () => {
    for (const n of [1, 2]) {
      assert.match(
        localHaproxy,
        new RegExp(`server pg-${n} 127\\.0\\.0\\.1:${ports[`PG_${n}_PORT`]} check port ${ports[`PATRONI_${n}_PORT`]}`),
      );
    }
    assert.deepEqual(servers(localHaproxy, 'command-api'), ['command-api-1', 'command-api-2']);
    assert.deepEqual(servers(localHaproxy, 'query-api'), ['query-api-1', 'query-api-2']);
  });

  it('a deployment HAProxy section the cluster does not know fails the generation', () => {
    assert.throws(() => localHaproxyConfig(`${swarmHaproxy}\nlisten other\n\tbind *:1\n`, ports), /no local mapping/);
    assert.throws(() => localHaproxyConfig(swarmHaproxy.replace('server pg-2 pg-2:5432', 'server pg-3 pg-3:5432'), ports), /pg-3|PG_3/);
  });

  it('the generated HAProxy configuration is valid for haproxy -c (when HAProxy is installed)', (t) => {
    try {
      execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    } catch {
      t.skip('haproxy is not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'cluster-haproxy-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), localHaproxy);
      execFileSync('haproxy', ['-c', '-q', '-f', join(dir, 'haproxy.cfg')], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Prometheus keeps infra/prometheus/prometheus.yml's jobs and scrapes every replica", () => {
    const compose = parse(readText('infra/prometheus/prometheus.yml')) as { global: unknown; scrape_configs: Array<{ job_name: string }> };
    const local = parse(localPrometheusConfig(readText('infra/prometheus/prometheus.yml'), ports)) as {
      global: unknown;
      scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
    };
    assert.deepEqual(local.global, compose.global);
    const targets = programTargets(ports);
    for (const { job_name } of compose.scrape_configs) {
      const job = local.scrape_configs.find((j) => j.job_name === job_name);
      assert.ok(job, `job ${job_name} is missing`);
      assert.deepEqual(job.static_configs[0]?.targets, targets[job_name]);
    }
    const all = local.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets));
    assert.equal(all.length, 8 + 1 + 2 + 3 + 1, 'programs, HAProxy, Patroni, etcd, Prometheus');
  });
});
