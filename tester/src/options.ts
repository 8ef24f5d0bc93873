import { parseEventTime } from '@usertags/contracts';
import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/ });

/** Everything a run can be told; every field has the reference workload's default. */
export const TesterOptions = z.object({
  commandUrl: httpUrl.default('http://127.0.0.1:8080').describe('Base URL of the command API (POST /user_tags)'),
  queryUrl: httpUrl.default('http://127.0.0.1:8081').describe('Base URL of the query API (/user_profiles, /aggregates)'),
  rate: z.number().positive().max(1_000_000).default(1000).describe('Tags sent per second'),
  durationS: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .default(60)
    .describe('How long tags are sent, in seconds'),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1)
    .describe('Seed of the tag stream and of the queries'),
  cookies: z.int().min(1).max(50_000_000).default(1_000_000).describe('Distinct cookies'),
  cookieSkew: z.number().min(0).max(3).default(0.9).describe('Zipf exponent of cookie popularity (0 = uniform)'),
  cookieSalt: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Another set of cookie ids (0 = the default set): runs against one deployment with different salts share no cookie'),
  maxInFlight: z.int().min(1).max(100_000).default(1000).describe('Requests in flight per endpoint; past it a request is dropped'),
  startTime: z
    .string()
    .refine((t) => parseEventTime(t) !== undefined, 'must be an ISO-8601 UTC instant such as 2022-03-01T00:00:00.000Z')
    .default('2022-03-01T00:00:00.000Z')
    .describe('Event time of the first tag; each next tag is 1 ms later'),
  out: z.string().min(1).optional().describe('Directory for report.md, report.json and report.html'),
  tagTimeoutMs: z.int().positive().default(200).describe('Budget of POST /user_tags'),
  profileTimeoutMs: z.int().positive().default(200).describe('Budget of /user_profiles'),
  aggregatesTimeoutMs: z.int().positive().default(60_000).describe('Budget of /aggregates'),
  profileFreshnessMs: z.int().min(0).default(10_000).describe('A tag accepted this long ago must be in profiles'),
  aggregatesFreshnessMs: z.int().min(0).default(60_000).describe('A tag accepted this long ago must be counted in aggregates'),
  progress: z
    .enum(['auto', 'never'])
    .default('auto')
    .describe('The live progress line on stderr (every second on a terminal, else every 10 s)'),
});

/** Options as given (defaults may be left out). */
export type TesterOptionsInput = z.input<typeof TesterOptions>;
/** Options with every default applied. */
export type ResolvedOptions = Readonly<z.output<typeof TesterOptions>>;

/** Applies the defaults and checks the values; throws a readable error naming the bad option. */
export function resolveOptions(input: TesterOptionsInput): ResolvedOptions {
  const parsed = TesterOptions.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new Error(`invalid tester options:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}
