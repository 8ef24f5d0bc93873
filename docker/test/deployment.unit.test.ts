// Static checks of the deployment (docker/, infra/), no Docker engine needed:
// the compose and stack files are valid for `docker compose` and
// `docker stack deploy`, every program gets an environment its config schema
// accepts and the addresses of services that exist, the swarm keeps database
// replicas apart, and the images hold what the programs import.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import {
  COMPOSE_FILE,
  CONFIG_SCHEMAS,
  type ComposeFile,
  commandText,
  DEPLOY_ENV,
  dependsOn,
  dockerContextIncludes,
  environmentOf,
  healthCheckPort,
  hostPorts,
  interpolateString,
  labelConstraints,
  loadComposeFile,
  PROGRAMS,
  packageJson,
  parseDockerfile,
  portTargets,
  programServices,
  readText,
  readYaml,
  repo,
  type Service,
  STACK_FILES,
  STATEFUL_STACK,
  STATELESS_STACK,
  stageVariable,
  workspaceClosure,
} from './deployment-files.ts';

const ALL_FILES = [COMPOSE_FILE, ...STACK_FILES];
const compose = loadComposeFile(COMPOSE_FILE);
const stateful = loadComposeFile(STATEFUL_STACK);
const stateless = loadComposeFile(STATELESS_STACK);

const ajv2020 = new Ajv2020({ allErrors: true, strict: false });
const validateComposeSpec = ajv2020.compile(JSON.parse(readText('infra/compose-spec/compose-spec.json')));

const AjvDraft04 = AjvDraft04Module.default;
const ajv04 = new AjvDraft04({ allErrors: true, strict: false });
// The custom formats docker/cli registers (cli/compose/schema/schema.go): Go durations and port specs.
ajv04.addFormat('duration', /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+)$/);
ajv04.addFormat('ports', /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
ajv04.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
const validateStackFile = ajv04.compile(JSON.parse(readText('infra/compose-spec/docker-stack-v3.13.json')));

function schemaErrors(validate: typeof validateComposeSpec, document: unknown): string {
  if (validate(document)) return '';
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`).join('\n');
}

/** The services and configs a file's programs can reach: a swarm stack's programs reach the stateful stack's over the shared network. */
function deploymentOf(path: string): ComposeFile {
  if (path === STATELESS_STACK) return { services: { ...stateful.services, ...stateless.services }, configs: { ...stateful.configs } };
  return loadComposeFile(path);
}

describe('compose and stack files', () => {
  for (const path of ALL_FILES) {
    it(`${path} is valid against the Compose Specification schema`, () => {
      assert.equal(schemaErrors(validateComposeSpec, loadComposeFile(path)), '');
    });
  }

  for (const path of STACK_FILES) {
    it(`${path} is a valid stack file for docker stack deploy (format 3.13)`, () => {
      assert.equal(schemaErrors(validateStackFile, loadComposeFile(path)), '');
    });
  }

  it('the schemas reject what Docker would reject', () => {
    const misspelt = { services: { api: { image: 'x', enviroment: { A: '1' } } } };
    assert.notEqual(schemaErrors(validateComposeSpec, misspelt), '');
    assert.notEqual(schemaErrors(validateStackFile, misspelt), '');
    // Compose's long depends_on form is not a stack file's.
    const longDependsOn = { services: { a: { image: 'x', depends_on: { b: { condition: 'service_healthy' } } }, b: { image: 'y' } } };
    assert.equal(schemaErrors(validateComposeSpec, longDependsOn), '');
    assert.notEqual(schemaErrors(validateStackFile, longDependsOn), '');
    assert.notEqual(schemaErrors(validateStackFile, { services: { a: { image: 'x', healthcheck: { interval: '10 seconds' } } } }), '');
  });

  it('interpolates variables the way Compose does', () => {
    const env = { A: 'a', EMPTY: '' };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template
    assert.equal(interpolateString('$$x ${A} $A ${B:-b} ${EMPTY:-e} ${EMPTY-e}', env), '$x a a b e ');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose's syntax, not a template
    assert.throws(() => interpolateString('${B:?set B}', env), /B is not set/);
  });

  it('every variable the files require is one docs/deploy.md tells the operator to set', () => {
    const docs = readText('docs/deploy.md');
    const required = new Set(ALL_FILES.flatMap((path) => [...readText(path).matchAll(/\$\{(\w+):?\?/g)].map((m) => m[1] as string)));
    assert.ok(required.size > 0);
    for (const name of required) {
      assert.ok(name in DEPLOY_ENV, `${name} is missing from the test's DEPLOY_ENV`);
      assert.ok(docs.includes(name), `docs/deploy.md does not mention ${name}`);
    }
  });

  for (const path of ALL_FILES) {
    it(`every file ${path} mounts or turns into a config exists`, () => {
      const file = loadComposeFile(path);
      const sources = [
        ...Object.values(file.configs ?? {}).flatMap((c) => (c.file === undefined ? [] : [c.file])),
        ...Object.values(file.services).flatMap((s) =>
          (s.volumes ?? []).flatMap((v) => {
            const source = typeof v === 'string' ? (v.split(':')[0] as string) : (v.source ?? '');
            return source.startsWith('.') || source.startsWith('/') ? [source] : [];
          }),
        ),
      ];
      assert.ok(sources.length > 0);
      for (const source of sources) assert.ok(existsSync(join(repo, dirname(path), source)), `${path}: ${source} does not exist`);
    });

    it(`every named volume and config ${path} uses is declared`, () => {
      const file = loadComposeFile(path);
      for (const [name, service] of Object.entries(file.services)) {
        for (const v of service.volumes ?? []) {
          const source = typeof v === 'string' ? (v.split(':')[0] as string) : (v.source ?? '');
          if (!source.startsWith('.') && !source.startsWith('/')) assert.ok(source in (file.volumes ?? {}), `${name}: volume ${source}`);
        }
        for (const c of service.configs ?? []) {
          const source = typeof c === 'string' ? c : c.source;
          assert.ok(source in (file.configs ?? {}), `${name}: config ${source}`);
        }
      }
    });
  }

  it('compose waits only on health checks that exist, and starts a program after the services it connects to', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dep, condition] of Object.entries(dependsOn(service))) {
        const target = compose.services[dep];
        assert.ok(target !== undefined, `${name} depends on a missing service ${dep}`);
        if (condition === 'service_healthy')
          assert.ok(target.healthcheck?.test !== undefined, `${name} waits for ${dep}'s health check, which it has not`);
      }
    }
    for (const [name, service] of programServices(compose)) {
      const deps = dependsOn(service);
      for (const host of addressedServices(environmentOf(service))) {
        assert.ok(host in deps, `${name} connects to ${host} but does not depend on it`);
        assert.equal(deps[host], 'service_healthy', `${name} should wait for ${host} to be healthy`);
      }
    }
  });
});

/** The service names a program's environment points at. */
function addressedServices(env: Record<string, string>): string[] {
  const hosts: string[] = [];
  if (env.KAFKA_BROKERS !== undefined) hosts.push(...hostPorts(env.KAFKA_BROKERS).map((h) => h.host));
  if (env.AEROSPIKE_HOSTS !== undefined) hosts.push(...hostPorts(env.AEROSPIKE_HOSTS).map((h) => h.host));
  if (env.DATABASE_URL !== undefined) hosts.push(new URL(env.DATABASE_URL).hostname);
  return [...new Set(hosts)];
}

describe('the programs in the compose and stack files', () => {
  for (const path of [COMPOSE_FILE, STATELESS_STACK]) {
    const file = loadComposeFile(path);

    it(`${path} runs all three programs`, () => {
      assert.deepEqual(new Set(programServices(file).map(([, , p]) => p)), new Set(PROGRAMS));
    });

    for (const [name, service, program] of programServices(file)) {
      const env = environmentOf(service);
      const schema = CONFIG_SCHEMAS[program];

      it(`${path} ${name}: sets only variables ${program}'s config reads, with values it accepts`, () => {
        const known = new Set(Object.keys(schema.shape));
        for (const key of Object.keys(env)) assert.ok(known.has(key), `${key} is not a setting of ${program}`);
        const parsed = schema.safeParse(env);
        assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
      });

      it(`${path} ${name}: the health check and published ports use the PORT it listens on`, () => {
        const port = (schema.parse(env) as { PORT: number }).PORT;
        assert.equal(healthCheckPort(service), port);
        for (const target of portTargets(service)) assert.equal(target, port);
      });

      it(`${path} ${name}: every address in its environment is a service of the deployment listening there`, () => {
        const deployment = deploymentOf(path);
        if (env.KAFKA_BROKERS !== undefined) {
          for (const { host, port } of hostPorts(env.KAFKA_BROKERS)) {
            const broker = deployment.services[host];
            assert.ok(broker !== undefined, `no service ${host}`);
            assert.ok(
              environmentOf(broker).KAFKA_ADVERTISED_LISTENERS?.includes(`://${host}:${port}`),
              `${host} does not advertise :${port}`,
            );
          }
        }
        if (env.AEROSPIKE_HOSTS !== undefined) {
          for (const { host, port } of hostPorts(env.AEROSPIKE_HOSTS)) {
            const node = deployment.services[host];
            assert.ok(node !== undefined && (node.image ?? '').startsWith('aerospike/'), `${host} is not an Aerospike service`);
            assert.equal(port, 3000);
            assert.match(aerospikeConfigOf(deployment, host), new RegExp(`namespace ${env.AEROSPIKE_NAMESPACE} \\{`));
          }
        }
        if (env.DATABASE_URL !== undefined) {
          const url = new URL(env.DATABASE_URL);
          assert.ok(deployment.services[url.hostname] !== undefined, `no service ${url.hostname}`);
          assert.equal(url.port, '5432');
        }
      });
    }
  }

  it('compose builds each program from its own Dockerfile', () => {
    for (const [name, service, program] of programServices(compose)) {
      assert.equal(service.build?.dockerfile, `docker/${program}.Dockerfile`, name);
      assert.equal(normalize(join('docker', service.build?.context ?? '')), '.');
    }
  });
});

/** The Aerospike config file a service of a deployment starts with. */
function aerospikeConfigOf(deployment: ComposeFile, name: string): string {
  const service = deployment.services[name] as Service;
  const path = commandText(service).match(/--config-file (\S+)/)?.[1];
  assert.ok(path !== undefined, `${name} names no config file`);
  const config = (service.configs ?? []).find((c) => typeof c !== 'string' && c.target === path);
  if (config !== undefined && typeof config !== 'string') {
    const file = deployment.configs?.[config.source]?.file as string;
    return readText(join(dirname(STATEFUL_STACK), file));
  }
  const mount = (service.volumes ?? []).find((v) => typeof v === 'string' && v.split(':')[1] === path) as string | undefined;
  assert.ok(mount !== undefined, `${name} mounts nothing at ${path}`);
  return readText(join(dirname(COMPOSE_FILE), mount.split(':')[0] as string));
}

const servicesOfImage = (file: ComposeFile, prefix: string) =>
  Object.entries(file.services).filter(([, s]) => (s.image ?? '').startsWith(prefix) && !(s.deploy?.mode ?? '').endsWith('-job'));

describe('the swarm stacks', () => {
  const databases = {
    kafka: servicesOfImage(stateful, 'apache/kafka:'),
    aerospike: servicesOfImage(stateful, 'aerospike/aerospike-server:'),
    etcd: servicesOfImage(stateful, 'quay.io/coreos/etcd:'),
    patroni: servicesOfImage(stateful, 'ghcr.io/zalando/spilo-'),
  };

  it('pins each database replica to its own labelled node, one task each, with its data on a volume', () => {
    for (const [database, services] of Object.entries(databases)) {
      assert.ok(services.length >= 2, `${database} has ${services.length} replicas`);
      const placements = services.map(([name, s]) => {
        assert.equal(s.deploy?.replicas, 1, `${name} must run exactly one task`);
        assert.ok((s.volumes ?? []).length > 0, `${name} keeps no data`);
        const constraints = labelConstraints(s);
        assert.equal(constraints.length, 1, `${name} is not pinned by one node label`);
        return constraints[0] as { key: string; value: string };
      });
      assert.equal(new Set(placements.map((p) => p.key)).size, 1, `${database} replicas use different label keys`);
      assert.equal(new Set(placements.map((p) => p.value)).size, services.length, `two ${database} replicas share a node label`);
    }
  });

  it('runs three Kafka brokers and an odd KRaft quorum whose voters are the controller services', () => {
    const roles = databases.kafka.map(([name, s]) => ({ name, env: environmentOf(s) }));
    const brokers = roles.filter((r) => r.env.KAFKA_PROCESS_ROLES?.split(',').includes('broker'));
    const controllers = roles.filter((r) => r.env.KAFKA_PROCESS_ROLES?.split(',').includes('controller'));
    assert.equal(brokers.length, 3);
    assert.equal(controllers.length % 2, 1);
    const voters = controllers.map((c) => `${c.env.KAFKA_NODE_ID}@${c.name}:9093`).sort();
    for (const r of roles) {
      assert.deepEqual(r.env.KAFKA_CONTROLLER_QUORUM_VOTERS?.split(',').sort(), voters, r.name);
      assert.equal(r.env.CLUSTER_ID, roles[0]?.env.CLUSTER_ID);
    }
    assert.equal(new Set(roles.map((r) => r.env.KAFKA_NODE_ID)).size, roles.length);
    for (const b of brokers) {
      for (const key of [
        'KAFKA_DEFAULT_REPLICATION_FACTOR',
        'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
        'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
      ]) {
        assert.ok(Number(b.env[key]) <= brokers.length, `${b.name}: ${key} is more than the brokers`);
      }
      assert.ok(
        Number(b.env.KAFKA_MIN_INSYNC_REPLICAS) < Number(b.env.KAFKA_DEFAULT_REPLICATION_FACTOR),
        'one broker down must not stop writes',
      );
      assert.ok(Number(b.env.KAFKA_MIN_INSYNC_REPLICAS) >= 2, 'an acknowledged tag must be on two brokers');
      assert.ok(Number(b.env.KAFKA_BROKER_SESSION_TIMEOUT_MS) <= 6000, 'a hung broker must be fenced within 6 s');
    }
  });

  const topicsJob = commandText(stateful.services.topics as Service);
  const topic = (name: string) => {
    const match = new RegExp(`--topic ${name.replace('.', '\\.')} ([^\\n]*(?:\\n\\s+--[^\\n]*)*)`).exec(topicsJob);
    assert.ok(match !== null, `the topics job does not create ${name}`);
    const args = match[1] as string;
    return {
      partitions: Number(/--partitions (\d+)/.exec(args)?.[1]),
      replication: Number(/--replication-factor (\d+)/.exec(args)?.[1]),
      minInsync: Number(/min\.insync\.replicas=(\d+)/.exec(args)?.[1] ?? 1),
    };
  };

  it('creates the topics the programs use, each acknowledged tag on two brokers, writable with one broker down', () => {
    const commandApi = environmentOf(stateless.services['command-api'] as Service);
    const userTags = topic(commandApi.KAFKA_TOPIC as string);
    assert.equal(userTags.replication, 3);
    assert.equal(userTags.minInsync, 2);
    assert.equal(String(userTags.partitions), commandApi.KAFKA_TOPIC_PARTITIONS);
    assert.equal(String(userTags.replication), commandApi.KAFKA_TOPIC_REPLICATION);
    for (const [, s, program] of programServices(stateless)) {
      if (program === 'projector') {
        const deadLetters = topic(environmentOf(s).KAFKA_DEAD_LETTER_TOPIC as string);
        assert.equal(deadLetters.replication, 3);
        assert.equal(deadLetters.minInsync, 2);
      }
    }
  });

  it('runs no more projector replicas per projection than the topic has partitions', () => {
    const { partitions } = topic('user-tags');
    for (const projection of ['aggregates', 'profiles']) {
      const replicas = programServices(stateless)
        .filter(
          ([, s, p]) =>
            p === 'projector' &&
            (CONFIG_SCHEMAS.projector.parse(environmentOf(s)) as { PROJECTIONS: string[] }).PROJECTIONS.includes(projection),
        )
        .reduce((sum, [, s]) => sum + (s.deploy?.replicas ?? 1), 0);
      assert.ok(replicas >= 1 && replicas <= partitions, `${projection}: ${replicas} replicas for ${partitions} partitions`);
    }
  });

  it('runs several replicas of each API, spread over the nodes', () => {
    for (const [name, s, program] of programServices(stateless)) {
      if (program === 'projector') continue;
      assert.ok((s.deploy?.replicas ?? 1) >= 2, name);
      assert.ok((s.deploy?.placement?.max_replicas_per_node ?? 0) >= 1, `${name} may stack all replicas on one node`);
      assert.ok(portTargets(s).length > 0, `${name} is not published through the routing mesh`);
    }
  });

  it('gives every service a restart policy and resource limits, and pins every service that keeps a volume', () => {
    for (const file of [stateful, stateless]) {
      for (const [name, s] of Object.entries(file.services)) {
        assert.ok(s.deploy?.restart_policy?.condition !== undefined, `${name} has no restart policy`);
        assert.ok(s.deploy?.resources?.limits?.memory !== undefined, `${name} has no memory limit`);
        assert.ok(s.deploy?.resources?.limits?.cpus !== undefined, `${name} has no CPU limit`);
        if ((s.deploy?.mode ?? '').endsWith('-job')) continue;
        assert.ok(s.deploy?.update_config !== undefined, `${name} has no update policy`);
        if ((s.volumes ?? []).length > 0) assert.equal(labelConstraints(s).length, 1, `${name} would lose its volume when moved`);
      }
    }
  });

  it('joins the stateless stack to the stateful stack network', () => {
    const shared = Object.values(stateless.networks ?? {});
    assert.equal(shared.length, 1);
    assert.equal(shared[0]?.external, true);
    const own = Object.values(stateful.networks ?? {}).find((n) => n?.name === shared[0]?.name);
    assert.equal(own?.driver, 'overlay');
    assert.equal(own?.attachable, true);
  });

  it('forms the etcd cluster and the Patroni cluster from the services that exist', () => {
    const etcdNames = databases.etcd.map(([name]) => name).sort();
    for (const [name, s] of databases.etcd) {
      const env = environmentOf(s);
      assert.equal(env.ETCD_NAME, name);
      const members = (env.ETCD_INITIAL_CLUSTER ?? '').split(',').map((m) => m.split('=')[0]);
      assert.deepEqual(members.sort(), etcdNames);
    }
    for (const [name, s] of databases.patroni) {
      const hosts = (environmentOf(s).ETCD3_HOSTS ?? '').split(',').map((h) => h.replace(/"/g, '').split(':')[0]);
      assert.deepEqual(hosts.sort(), etcdNames, name);
      // A committed projector transaction is on both nodes, and only that standby is promoted.
      const patroni = environmentOf(s).SPILO_CONFIGURATION ?? '';
      assert.match(patroni, /^\s+synchronous_mode: true$/m, name);
      assert.match(patroni, /^\s+synchronous_commit: "on"$/m, name);
    }
    const haproxy = readText('infra/haproxy/haproxy.cfg');
    const primary = haproxy.slice(haproxy.indexOf('listen primary'), haproxy.indexOf('listen replicas'));
    const servers = [...primary.matchAll(/^\s*server (\S+) (\S+):5432 check port 8008/gm)].map((m) => m[2] as string);
    assert.deepEqual(servers.sort(), databases.patroni.map(([name]) => name).sort());
    assert.match(primary, /option httpchk GET \/primary/);
  });

  it('forms one Aerospike cluster of both nodes, every record on both', () => {
    const nodes = databases.aerospike.map(([name]) => name).sort();
    for (const [name] of databases.aerospike) {
      const config = aerospikeConfigOf(stateful, name);
      const seeds = [...config.matchAll(/mesh-seed-address-port (\S+) 3002/g)].map((m) => m[1]);
      assert.deepEqual(seeds.sort(), nodes, name);
      assert.match(config, new RegExp(`replication-factor ${nodes.length}\\b`));
    }
  });
});

describe('the program images', () => {
  const dockerignore = readText('.dockerignore');
  const pnpmVersion = packageJson('.').packageManager?.replace(/^pnpm@/, '');

  it('the build context leaves out dependencies, tests, data and history', () => {
    for (const path of [
      'node_modules/x',
      'command-api/node_modules/x',
      'command-api/test/a.ts',
      '.git/HEAD',
      'data/x',
      '.tools/x',
      'docker/compose.yaml',
    ]) {
      assert.equal(dockerContextIncludes(dockerignore, path), false, path);
    }
  });

  for (const program of PROGRAMS) {
    const dockerfile = `docker/${program}.Dockerfile`;
    const stages = parseDockerfile(readText(dockerfile));
    const final = stages.at(-1);
    const packages = workspaceClosure(program);
    const defaultPort = (CONFIG_SCHEMAS[program].parse({}) as { PORT: number }).PORT;

    it(`${program}: builds in stages from Node 24 and runs as a user that is not root`, () => {
      assert.ok(stages.length >= 2);
      for (const stage of stages) assert.equal(stage.from, 'node:24-bookworm-slim');
      const user = final?.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
      assert.ok(user !== undefined && !['root', '0'].includes(user.split(':')[0] as string), `final user ${user}`);
    });

    it(`${program}: installs only production dependencies, from the lockfile, with the pinned pnpm`, () => {
      const deps = stages[0] as (typeof stages)[number];
      assert.equal(stageVariable(deps, 'ARG', 'PNPM_VERSION'), pnpmVersion);
      const install = deps.instructions.find((i) => i.keyword === 'RUN' && /pnpm install/.test(i.args))?.args ?? '';
      assert.match(install, /--frozen-lockfile/);
      assert.match(install, /--prod\b/);
      assert.match(install, new RegExp(`--filter '@usertags/${program}\\.\\.\\.'`));
    });

    it(`${program}: holds the sources of exactly the workspace packages it imports (${packages.join(', ')})`, () => {
      const copied = (final?.instructions ?? [])
        .filter((i) => i.keyword === 'COPY' && i.args.startsWith('--from='))
        .map((i) => (i.args.split(/\s+/)[1] as string).replace(/^\/src\/?/, '').replace(/\/$/, ''))
        .filter((p) => p !== 'node_modules' && p !== 'package.json');
      assert.deepEqual(copied.sort(), packages);
      const sources = (stages[0]?.instructions ?? []).filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/)[0] as string);
      for (const pkg of packages) {
        assert.ok(sources.includes(`${pkg}/package.json`), `${pkg}/package.json is not copied`);
        assert.ok(sources.includes(`${pkg}/src/`), `${pkg}/src/ is not copied`);
      }
    });

    it(`${program}: copies only files that exist and that .dockerignore lets into the context`, () => {
      for (const stage of stages) {
        for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from='))) {
          for (const source of copy.args.split(/\s+/).slice(0, -1)) {
            assert.ok(existsSync(join(repo, source)), `${source} does not exist`);
            assert.ok(dockerContextIncludes(dockerignore, source), `.dockerignore leaves out ${source}`);
          }
        }
      }
    });

    it(`${program}: listens, exposes and checks health on PORT ${defaultPort}, and runs ${program}/src/main.ts with its telemetry register module first`, () => {
      assert.ok(final !== undefined);
      assert.equal(stageVariable(final, 'ENV', 'PORT'), String(defaultPort));
      assert.equal(final.instructions.find((i) => i.keyword === 'EXPOSE')?.args, String(defaultPort));
      const healthcheck = final.instructions.find((i) => i.keyword === 'HEALTHCHECK')?.args ?? '';
      assert.match(healthcheck, /CMD \["node", "-e", ".*process\.env\.PORT.*\/health/);
      const cmd = JSON.parse(final.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]') as string[];
      assert.deepEqual(cmd, ['node', '--import', `./${program}/src/register.ts`, `${program}/src/main.ts`]);
      assert.ok(existsSync(join(repo, program, 'src/main.ts')));
      assert.ok(existsSync(join(repo, program, 'src/register.ts')));
    });

    it(`${program}: has the system libraries its native dependencies link`, () => {
      // The Aerospike client's prebuilt binding needs libyaml at run time (ldd shows it).
      const usesAerospike = packages.some((p) => packageJson(p).dependencies?.aerospike !== undefined);
      const installsLibyaml = (final?.instructions ?? []).some(
        (i) => i.keyword === 'RUN' && /apt-get install[^&]*libyaml-0-2/.test(i.args),
      );
      assert.equal(installsLibyaml, usesAerospike);
    });
  }
});

describe('the YAML reader', () => {
  it('resolves anchors and merge keys as Docker does', () => {
    const kafka2 = (readYaml(STATEFUL_STACK) as ComposeFile).services['kafka-2'] as Service;
    const env = environmentOf(kafka2);
    assert.equal(env.KAFKA_NODE_ID, '2');
    assert.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(kafka2.deploy?.replicas, 1);
  });
});
