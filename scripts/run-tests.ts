// Runs the test files of the given tiers (unit, int, e2e) in one `node --test`
// invocation, so its closing summary counts every test that ran.
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const TIERS = ['unit', 'int', 'e2e'] as const;
const asked = process.argv.slice(2);
const tiers = asked.length === 0 ? [...TIERS] : asked;
for (const t of tiers) {
  if (!(TIERS as readonly string[]).includes(t)) {
    console.error(`unknown tier ${t}; use ${TIERS.join(', ')}`);
    process.exit(2);
  }
}

const files = tiers.flatMap((tier) => globSync(`*/test/**/*.${tier}.test.ts`, { exclude: (f) => f.includes('node_modules') }).sort());
if (files.length === 0) {
  console.error(`no test files for tiers ${tiers.join(', ')}`);
  process.exit(1);
}

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
