#!/usr/bin/env node
import { parseArgs } from 'node:util';
// The tester's command line: flags → options → runTester → the report on stdout
// (and in --out). Ctrl-C once stops sending and still reports; twice quits.
import { errorMessage } from '@usertags/contracts';
import type { TesterOptionsInput } from './options.ts';
import { renderMarkdown } from './report/markdown.ts';
import { runTester } from './run.ts';

const USAGE = `usage: node tester/src/cli.ts [options]

Sends the reference workload (spec §4) open loop and scores the answers.

  --command-url URL            command API base URL          (default http://127.0.0.1:8080)
  --query-url URL              query API base URL            (default http://127.0.0.1:8081)
  --rate N                     tags per second               (default 1000)
  --duration S                 seconds of sending            (default 60)
  --seed N                     seed of tags and queries      (default 1)
  --cookies N                  distinct cookies              (default 1000000)
  --cookie-skew S              Zipf exponent of cookie popularity, 0 = uniform (default 0.9)
  --cookie-salt N              another set of cookie ids, so two runs share no cookie (default 0)
  --start-time ISO             event time of the first tag   (default 2022-03-01T00:00:00.000Z)
  --max-in-flight N            requests in flight per endpoint before sends are dropped (default 1000)
  --out DIR                    write report.md, report.json, report.html there
  --tag-timeout-ms N           budget of POST /user_tags     (default 200)
  --profile-timeout-ms N       budget of /user_profiles      (default 200)
  --aggregates-timeout-ms N    budget of /aggregates         (default 60000)
  --profile-freshness-ms N     how old an accepted tag must be to be asked about in profiles (default 10000)
  --aggregates-freshness-ms N  the same for aggregates       (default 60000)
  --no-progress                no progress line on stderr
  -h, --help                   this text

Each run must go to a deployment that holds no other tags in the run's event-time
range (a fresh topic and read models, or another --start-time), or the answers
the tester expects will not match.`;

const NUMERIC: Record<string, keyof TesterOptionsInput> = {
  rate: 'rate',
  duration: 'durationS',
  seed: 'seed',
  cookies: 'cookies',
  'cookie-skew': 'cookieSkew',
  'cookie-salt': 'cookieSalt',
  'max-in-flight': 'maxInFlight',
  'tag-timeout-ms': 'tagTimeoutMs',
  'profile-timeout-ms': 'profileTimeoutMs',
  'aggregates-timeout-ms': 'aggregatesTimeoutMs',
  'profile-freshness-ms': 'profileFreshnessMs',
  'aggregates-freshness-ms': 'aggregatesFreshnessMs',
};
const TEXT: Record<string, keyof TesterOptionsInput> = {
  'command-url': 'commandUrl',
  'query-url': 'queryUrl',
  'start-time': 'startTime',
  out: 'out',
};

function parse(argv: string[]): TesterOptionsInput | 'help' {
  const options = Object.fromEntries(
    [...Object.keys(NUMERIC), ...Object.keys(TEXT)].map((name) => [name, { type: 'string' as const }]),
  ) as Record<string, { type: 'string' }>;
  const { values: parsed } = parseArgs({
    args: argv,
    options: { ...options, 'no-progress': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  const values = parsed as Record<string, string | boolean | undefined>;
  if (values.help === true) return 'help';
  const input: Record<string, unknown> = {};
  for (const [flag, key] of Object.entries(NUMERIC)) {
    const v = values[flag];
    if (typeof v !== 'string') continue;
    const num = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(num)) throw new Error(`--${flag} must be a number, got ${JSON.stringify(v)}`);
    input[key] = num;
  }
  for (const [flag, key] of Object.entries(TEXT)) if (typeof values[flag] === 'string') input[key] = values[flag];
  if (values['no-progress'] === true) input.progress = 'never';
  return input as TesterOptionsInput;
}

let input: TesterOptionsInput | 'help';
try {
  // `pnpm tester -- --rate 5` passes the `--` along.
  const argv = process.argv.slice(2);
  input = parse(argv[0] === '--' ? argv.slice(1) : argv);
} catch (error) {
  console.error(`${errorMessage(error)}\n\n${USAGE}`);
  process.exit(2);
}
if (input === 'help') {
  console.log(USAGE);
  process.exit(0);
}

const stop = new AbortController();
process.on('SIGINT', () => {
  if (stop.signal.aborted) process.exit(130);
  process.stderr.write('\nstopping: waiting for the answers in flight (Ctrl-C again to quit)\n');
  stop.abort();
});

try {
  const report = await runTester(input, { signal: stop.signal });
  process.stdout.write(renderMarkdown(report));
  if (input.out !== undefined) process.stderr.write(`report written to ${input.out}/report.{md,json,html}\n`);
} catch (error) {
  const message = errorMessage(error);
  console.error(message.startsWith('invalid tester options') ? `${message}\n\n${USAGE}` : `tester failed: ${message}`);
  process.exit(message.startsWith('invalid tester options') ? 2 : 1);
}
