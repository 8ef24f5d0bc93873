// Reading the deployment files the way Docker does, for the static tests:
// YAML with anchors and merge keys, Compose variable interpolation, the
// program services of a compose or stack file, Dockerfile instructions and
// .dockerignore matching.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CommandApiConfig } from '../../command-api/src/config.ts';
import { ProjectorConfig } from '../../projector/src/config.ts';
import { QueryApiConfig } from '../../query-api/src/config.ts';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const PROGRAMS = ['command-api', 'query-api', 'projector'] as const;
export type Program = (typeof PROGRAMS)[number];

/** Each program's configuration schema: the environment it reads. */
export const CONFIG_SCHEMAS: Record<Program, typeof CommandApiConfig | typeof QueryApiConfig | typeof ProjectorConfig> = {
  'command-api': CommandApiConfig,
  'query-api': QueryApiConfig,
  projector: ProjectorConfig,
};

export const COMPOSE_FILE = 'docker/compose.yaml';
export const STATEFUL_STACK = 'docker/swarm/stateful.yaml';
export const STATELESS_STACK = 'docker/swarm/stateless.yaml';
export const STACK_FILES = [STATEFUL_STACK, STATELESS_STACK] as const;

/**
 * What an operator exports before `docker compose up` / `docker stack deploy`:
 * a value for every `${VAR:?…}` the files require. REGISTRY and TAG stay unset
 * so their defaults are used.
 */
export const DEPLOY_ENV: Readonly<Record<string, string>> = {
  USERTAGS_DB_PASSWORD: 'app-secret',
  PG_SUPERUSER_PASSWORD: 'super-secret',
  PG_REPLICATION_PASSWORD: 'replication-secret',
  GRAFANA_ADMIN_PASSWORD: 'grafana-secret',
};

export function readText(path: string): string {
  return readFileSync(join(repo, path), 'utf8');
}

export function readYaml(path: string): unknown {
  return parse(readText(path), { merge: true });
}

/**
 * Compose's interpolation of one string: `$$` is a literal `$`; `${VAR}`,
 * `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`.
 */
export function interpolateString(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = env[name];
      const missing = op?.startsWith(':') ? value === undefined || value === '' : value === undefined;
      if (op === ':-' || op === '-') return missing ? (arg ?? '') : (value as string);
      if (op === ':?' || op === '?') {
        if (missing) throw new Error(`required variable ${name} is not set: ${arg}`);
        return value as string;
      }
      return value ?? '';
    },
  );
}

/** Interpolates every string in a parsed compose document (keys are left as they are, as Compose does). */
export function interpolate(value: unknown, env: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return interpolateString(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, env));
  if (isRecord(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env)]));
  return value;
}

/** A compose or stack file as `docker compose` / `docker stack deploy` sees it: parsed and interpolated. */
export function loadComposeFile(path: string): ComposeFile {
  return interpolate(readYaml(path), DEPLOY_ENV) as ComposeFile;
}

export interface ComposeFile {
  readonly services: Record<string, Service>;
  readonly networks?: Record<string, { name?: string; external?: boolean; driver?: string; attachable?: boolean } | null>;
  readonly volumes?: Record<string, unknown>;
  readonly configs?: Record<string, { file?: string }>;
}

export interface Service {
  readonly image?: string;
  readonly build?: { context?: string; dockerfile?: string };
  readonly command?: string | string[];
  readonly environment?: Record<string, string | number | boolean | null> | string[];
  readonly ports?: (string | { target: number; published?: number | string })[];
  readonly healthcheck?: { test?: string | string[]; disable?: boolean };
  readonly depends_on?: string[] | Record<string, { condition?: string }>;
  readonly volumes?: (string | { type?: string; source?: string; target: string })[];
  readonly configs?: (string | { source: string; target?: string })[];
  readonly networks?: string[] | Record<string, unknown>;
  readonly deploy?: Deploy;
}

export interface Deploy {
  readonly mode?: string;
  readonly replicas?: number;
  readonly endpoint_mode?: string;
  readonly placement?: { constraints?: string[]; max_replicas_per_node?: number };
  readonly update_config?: Record<string, unknown>;
  readonly restart_policy?: { condition?: string };
  readonly resources?: { limits?: { cpus?: string; memory?: string }; reservations?: Record<string, unknown> };
}

/** A service's environment as the strings the container sees. */
export function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=', 1)[0] as string, entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** The program a service runs, from its image name (`…/<program>:<tag>`), or undefined for any other image. */
export function programOf(service: Service): Program | undefined {
  const image = service.image ?? '';
  return PROGRAMS.find((p) => new RegExp(`(^|/)${p}:`).test(image));
}

export function programServices(file: ComposeFile): [name: string, service: Service, program: Program][] {
  return Object.entries(file.services).flatMap(([name, service]) => {
    const program = programOf(service);
    return program === undefined ? [] : [[name, service, program] as [string, Service, Program]];
  });
}

/** `host:port` items of a comma-separated list. */
export function hostPorts(list: string): { host: string; port: number }[] {
  return list.split(',').map((item) => {
    const [host, port] = item.trim().split(':');
    return { host: host as string, port: Number(port) };
  });
}

/** The port a health check's URL names (`http://127.0.0.1:<port>/health`), if it has one. */
export function healthCheckPort(service: Service): number | undefined {
  const test = service.healthcheck?.test;
  const text = Array.isArray(test) ? test.join(' ') : (test ?? '');
  const match = /http:\/\/(?:127\.0\.0\.1|localhost):(\d+)\/health\b/.exec(text);
  return match === null ? undefined : Number(match[1]);
}

export function dependsOn(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

/** Targets of a service's published ports. */
export function portTargets(service: Service): number[] {
  return (service.ports ?? []).map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)?.split('/')[0]) : p.target));
}

/** `node.labels.<key> == <value>` constraints of a service. */
export function labelConstraints(service: Service): { key: string; value: string }[] {
  return (service.deploy?.placement?.constraints ?? []).flatMap((c) => {
    const match = /^node\.labels\.([\w.-]+)\s*==\s*(\S+)$/.exec(c.trim());
    return match === null ? [] : [{ key: match[1] as string, value: match[2] as string }];
  });
}

export function commandText(service: Service): string {
  return Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- Dockerfiles ----

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** The stages of a Dockerfile, with line continuations joined, comments dropped and FROM's global ARGs resolved. */
export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const globalArgs = new Map<string, string>();
  const stages: { from: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [keyword, ...rest] = line.split(/\s+/);
    const instruction = { keyword: (keyword as string).toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = rest;
      const from = (image as string).replace(/\$\{(\w+)\}/g, (_, arg: string) => globalArgs.get(arg) ?? '');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [name, value] = instruction.args.split('=');
      globalArgs.set(name as string, value ?? '');
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** The value an `ARG name=value` or `ENV name=value …` instruction of a stage gives `name`. */
export function stageVariable(stage: Stage, keyword: 'ARG' | 'ENV', name: string): string | undefined {
  for (const i of stage.instructions.filter((x) => x.keyword === keyword)) {
    for (const pair of i.args.split(/\s+/)) {
      const [key, value] = pair.split('=');
      if (key === name) return value;
    }
  }
  return undefined;
}

/** Whether .dockerignore lets `path` into the build context (last matching pattern wins; `!` re-includes). */
export function dockerContextIncludes(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  let included = true;
  const clean = path.replace(/\/+$/, '');
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/+$/, '');
    if (pattern !== '**' && /[*?[\]]/.test(pattern)) throw new Error(`the test does not understand the .dockerignore pattern ${raw}`);
    // A pattern matches the path itself or any folder above it, as Docker's does.
    const matches = pattern === '**' || clean === pattern || clean.startsWith(`${pattern}/`);
    if (matches) included = negated;
  }
  return included;
}

/** The workspace packages a package uses at run time (its `workspace:` dependencies, transitively), itself included. */
export function workspaceClosure(pkg: string): string[] {
  const seen = new Set<string>();
  const visit = (folder: string) => {
    if (seen.has(folder)) return;
    seen.add(folder);
    for (const [name, version] of Object.entries(packageJson(folder).dependencies ?? {})) {
      if (version.startsWith('workspace:')) visit(name.replace(/^@usertags\//, ''));
    }
  };
  visit(pkg);
  return [...seen].sort();
}

export function packageJson(folder: string): { name: string; dependencies?: Record<string, string>; packageManager?: string } {
  return JSON.parse(readText(join(folder, 'package.json')));
}
