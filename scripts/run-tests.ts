// Runs the test files of the given tiers (unit, int, e2e) in one `node --test`
// invocation, so its closing summary counts every test that ran. Coverage is
// measured on the way (per file in the spec output, per package after it); when
// all three tiers run, a package below its floor (scripts/coverage.ts) fails the run.
import { spawnSync } from 'node:child_process';
import { globSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coverageByPackage, reportCoverage } from './coverage.ts';

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
const coverageDir = mkdtempSync(join(tmpdir(), 'usertags-coverage-'));
const lcov = join(coverageDir, 'lcov.info');
const result = spawnSync(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-timeout=300000',
    '--experimental-test-coverage',
    '--test-coverage-include=*/src/**',
    '--test-coverage-exclude=testkit/**',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=lcov',
    `--test-reporter-destination=${lcov}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
const enforce = TIERS.every((t) => tiers.includes(t));
const failing = reportCoverage(coverageByPackage(lcov), enforce);
rmSync(coverageDir, { recursive: true, force: true });
if (failing.length > 0) {
  console.error(`coverage below the floor: ${failing.join('; ')}`);
  process.exit(result.status || 1);
}
process.exit(result.status ?? 1);
