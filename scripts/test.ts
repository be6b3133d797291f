/**
 * `npm test`: every suite, as two vitest runs side by side. The settlement suite spends most of its
 * time waiting for Aztec blocks, and vitest runs projects that forbid file parallelism one file after
 * another in a single queue; run apart, the chain's waits overlap the integration suite's work.
 *
 * Usage: npm test -- [vitest arguments, e.g. a file filter or -t <name>]
 *   Arguments go to every run; a filter that matches files of one run only leaves the other empty.
 *   TUSK_TEST_REPORT=<path prefix> also writes each run's JSON report to <prefix>-<run>.json.
 *   TUSK_TEST_SHARDS=<n> (without arguments) splits the integration files into n runs of about equal
 *   time, each on a Temporal and Redis of its own: most of their time is spent waiting (timers,
 *   Temporal round trips, polling), so n runs overlap their waits the way the chain run does.
 */
import { concurrently } from 'concurrently';

import { recordedDurations, splitByDuration, testFilesUnder } from './test-shards';

interface Run {
  name: string;
  projects: string[];
  /** File filters of this run alone (a shard's files). */
  files?: string[];
}

/** One quick run (unit + integration + browser) by default; with shards, unit and browser ride with the lightest one. */
function quickRuns(shardCount: number): Run[] {
  if (shardCount <= 1) return [{ name: 'quick', projects: ['unit', 'integration', 'browser'] }];
  const shards = splitByDuration(testFilesUnder('tests/integration'), recordedDurations(), shardCount);
  const lightest = shards.reduce((best, shard) => (shard.seconds < best.seconds ? shard : best));
  return shards
    .filter((shard) => shard.files.length > 0)
    .map((shard, index) => ({
      name: `quick-${index + 1}`,
      projects: shard === lightest ? ['unit', 'integration', 'browser'] : ['integration'],
      files: shard === lightest ? ['tests/unit/', 'tests/browser/', ...shard.files] : shard.files,
    }));
}

function shardCountFromEnv(passed: string[]): number {
  const raw = process.env.TUSK_TEST_SHARDS ?? '1';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    console.error(`TUSK_TEST_SHARDS must be a whole number ≥ 1, not "${raw}"`);
    process.exit(2);
  }
  // A filter or option of the caller's picks its own files: one quick run, as without shards.
  return passed.length > 0 ? 1 : count;
}

/** Quotes one argument for the shell concurrently starts each command in, when it needs it. */
const shellQuote = (value: string) =>
  /^[\w./=:@%+,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;

function commandFor(run: Run, passed: string[]): string {
  const report = process.env.TUSK_TEST_REPORT;
  const args = [
    'vitest',
    'run',
    ...run.projects.flatMap((project) => ['--project', project]),
    '--passWithNoTests',
    ...(report ? ['--reporter=default', '--reporter=json', `--outputFile=${report}-${run.name}.json`] : []),
    ...passed,
    ...(run.files ?? []),
  ];
  return ['npx', ...args].map(shellQuote).join(' ');
}

async function main(): Promise<void> {
  const passed = process.argv.slice(2);
  const runs = [...quickRuns(shardCountFromEnv(passed)), { name: 'chain', projects: ['settlement'] }];
  const { result } = concurrently(
    runs.map((run) => ({ name: run.name, command: commandFor(run, passed) })),
    { prefix: 'name' },
  );
  await result;
}

main().then(
  () => process.exit(0),
  () => {
    // concurrently has printed each run's output and exit code; one failed run fails the whole.
    process.exit(1);
  },
);
