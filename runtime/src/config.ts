import { availableParallelism } from 'node:os';
import { errorMessage } from '@usertags/contracts';
import { z } from 'zod';
import { adapterSettings } from './adapters.ts';

/**
 * Parses the environment with a program's zod schema, once, at start. Throws
 * an Error whose message names each bad variable; the result is frozen.
 */
export function loadEnvConfig<S extends z.ZodType>(schema: S, env: Readonly<Record<string, string | undefined>>): Readonly<z.output<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(parsed.data) as Readonly<z.output<S>>;
}

/** Loads a program's config or stops the process with exit code 2 and the reason on stderr. */
export function loadConfigOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    process.stderr.write(`${program}: ${errorMessage(error)}\n`);
    process.exit(2);
  }
}

/** Chosen by measurement (bench:tracing, docs/benchmarks.md): what ingest can afford at well under 10 % of its throughput. */
export const DEFAULT_SAMPLING_RATIO = 0.01;

/** Field builders for the settings every program shares. */
export const env = {
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  host: () => z.string().default('0.0.0.0').describe('Address to listen on'),
  port: (port: number) => z.coerce.number().int().min(0).max(65535).default(port).describe('HTTP port'),
  /** A comma-separated list, each item checked by `item`. */
  list: <T extends z.ZodType<unknown, string>>(fallback: string, item: T) =>
    z
      .string()
      .default(fallback)
      .transform((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x.length > 0),
      )
      .pipe(z.array(item).min(1)),
  kafkaBrokers: () =>
    env
      .list('127.0.0.1:9092', z.string().regex(/^[^:\s]+:\d+$/, 'host:port'))
      .describe(
        'Deprecated, use EVENT_LOG=kafka://…: comma-separated Kafka bootstrap brokers, used when neither EVENT_LOG nor EVENT_LOG_PATH is set',
      ),
  databaseUrl: () =>
    z
      .string()
      .default('postgres://usertags:usertags@127.0.0.1:5432/usertags')
      .refine(
        (v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) || /^sqlite:.+$/.test(v),
        'postgres://user:password@host:port/database, or sqlite:<file> for the embedded store',
      )
      .describe(
        'Deprecated, use AGGREGATES: the aggregate read model, PostgreSQL (postgres://…) or the embedded store (sqlite:<file>), used when AGGREGATES is unset',
      ),
  eventLogPath: () =>
    z
      .string()
      .min(1)
      .optional()
      .describe(
        'Deprecated, use EVENT_LOG=file:<path>: file of the embedded event log, used instead of Kafka when set and EVENT_LOG is not',
      ),
  /** The profile store's settings, the same for the projector (writer) and the query API (reader). */
  profileStore: () => ({
    PROFILES: adapterSettings.profiles(),
    AEROSPIKE_HOSTS: z
      .string()
      .optional()
      .describe(
        'Deprecated, use PROFILES=aerospike://…: Aerospike seed nodes host:port[,host:port], used when PROFILES is unset; when this is unset too, profiles use the embedded store',
      ),
    AEROSPIKE_NAMESPACE: z.string().min(1).default('test').describe('Aerospike namespace of the profiles, unless PROFILES names one'),
    AEROSPIKE_SET: z.string().min(1).default('profiles').describe('Aerospike set of the profiles'),
    PROFILE_STORE_PATH: z
      .string()
      .min(1)
      .default('data/profiles.sqlite')
      .describe(
        'Deprecated, use PROFILES=sqlite:<file>: file of the embedded profile store, used when neither PROFILES nor AEROSPIKE_HOSTS is set',
      ),
  }),
  flag: (value: boolean) =>
    z
      .enum(['true', 'false'])
      .default(value ? 'true' : 'false')
      .transform((v) => v === 'true'),
  /** The HTTP server's bounds on slow clients (runtime/src/http-server.ts); spread into a program's schema. */
  httpTimeouts: () => ({
    HTTP_HEADERS_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(10_000)
      .describe('Longest time a client may take to send the request headers; slower connections get 408 and are closed'),
    HTTP_REQUEST_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(30_000)
      .describe('Longest time a client may take to send a whole request (at least HTTP_HEADERS_TIMEOUT_MS)'),
  }),
  /** Unset means the default `resolveWorkers` picks: one per core, or 1 beside an embedded store. */
  workers: () =>
    env
      .int(1, MAX_WORKERS)
      .optional()
      .describe(
        `Worker processes sharing the HTTP port (node:cluster), at most ${MAX_WORKERS}; 1 runs the program as one process. ` +
          'Default: one per core, and 1 whenever a store of the program is an embedded file (which takes one process; more is refused)',
      ),
  logLevel: () => z.enum(['debug', 'info', 'warn', 'error']).default('info').describe('Least severe level logged'),
  /** Tracing, the same on every program; read by its register module before anything else loads, and again by its config. */
  telemetry: () => ({
    OTEL_TRACES_EXPORTER: z
      .enum(['otlp', 'none'])
      .default('none')
      .describe('otlp: send traces over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT; none: tracing off'),
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .url({ protocol: /^https?$/ })
      .default('http://127.0.0.1:4318')
      .describe('Base URL of the OTLP/HTTP receiver (an OpenTelemetry collector or Jaeger); traces go to <url>/v1/traces'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(DEFAULT_SAMPLING_RATIO)
      .describe('Share of new traces recorded (parent-based trace-id ratio); a sampled caller or linked event is always followed'),
    OTEL_BSP_SCHEDULE_DELAY: env
      .int(10, 60_000)
      .default(5000)
      .describe('Longest a finished span waits before it is exported, ms (spans also go as soon as 512 are waiting)'),
    OTEL_SERVICE_NAME: z.string().min(1).optional().describe("The service name on the program's spans (default: the program's name)"),
  }),
};

/** The most worker processes a program runs (`WORKERS`). */
export const MAX_WORKERS = 64;

/**
 * The number of worker processes: `WORKERS` when set, else one per core
 * (`os.availableParallelism()`, at most MAX_WORKERS). `embedded` names the
 * program's embedded store, if it has one: its file has one writer or owner
 * per process, so the default is then 1 and more is a configuration error,
 * thrown with the same message shape as `loadEnvConfig`'s.
 */
export function resolveWorkers(workers: number | undefined, embedded: string | undefined, cores = availableParallelism()): number {
  if (embedded === undefined) return workers ?? Math.min(cores, MAX_WORKERS);
  if (workers !== undefined && workers > 1) {
    throw new Error(`invalid configuration:\n  WORKERS: ${workers} workers, but ${embedded} is embedded and takes one process; use 1`);
  }
  return 1;
}

/** The schema-level check that goes with `env.httpTimeouts()`: node:http refuses a headers timeout longer than the request timeout. */
export const httpTimeoutsInOrder: [
  (c: { HTTP_HEADERS_TIMEOUT_MS: number; HTTP_REQUEST_TIMEOUT_MS: number }) => boolean,
  { path: string[]; message: string },
] = [
  (c) => c.HTTP_REQUEST_TIMEOUT_MS >= c.HTTP_HEADERS_TIMEOUT_MS,
  { path: ['HTTP_REQUEST_TIMEOUT_MS'], message: 'must be at least HTTP_HEADERS_TIMEOUT_MS' },
];
