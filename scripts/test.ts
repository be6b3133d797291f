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
 *   TUSK_CHAIN_LANES=<n> (without arguments) splits the settlement files the same way into n runs
 *   (`[chain-1]`, ...), each with its own Temporal, Redis and its own Token and receipt NFT on the one
 *   network TUSK_AZTEC_NODE_URL names: a transaction spends most of its 5-7 s waiting for inclusion, and
 *   the lanes' transactions share blocks. Without TUSK_AZTEC_NODE_URL each lane would start a network of
 *   its own (760 MB and 75 s each), so lanes need it.
 */
import { concurrently } from 'concurrently';

import { recordedDurations, RIDERS, splitByDuration, testFilesUnder } from './test-shards';

interface Run {
  name: string;
  projects: string[];
  /** File filters of this run alone (a shard's files). */
  files?: string[];
}

/**
 * One quick run (unit + integration + browser) by default. With shards, the integration files are
 * split by recorded time together with the unit and browser files as one entry (RIDERS), which run in
 * the shard the split puts them in.
 */
function quickRuns(shardCount: number): Run[] {
  if (shardCount <= 1) return [{ name: 'quick', projects: ['unit', 'integration', 'browser'] }];
  const shards = splitByDuration(
    [...testFilesUnder('tests/integration'), RIDERS],
    recordedDurations(),
    shardCount,
  );
  return shards
    .filter((shard) => shard.files.length > 0)
    .map((shard, index) => {
      const rides = shard.files.includes(RIDERS);
      const files = shard.files.filter((file) => file !== RIDERS);
      return {
        name: `quick-${index + 1}`,
        projects: rides ? ['unit', 'integration', 'browser'] : ['integration'],
        files: rides ? ['tests/unit/', 'tests/browser/', ...files] : files,
      };
    });
}

/** Chain runs: one settlement run by default; with lanes, the settlement files split by recorded time. */
function chainRuns(laneCount: number): Run[] {
  if (laneCount <= 1) return [{ name: 'chain', projects: ['settlement'] }];
  const lanes = splitByDuration(testFilesUnder('tests/settlement'), recordedDurations(), laneCount);
  return lanes
    .filter((lane) => lane.files.length > 0)
    .map((lane, index) => ({ name: `chain-${index + 1}`, projects: ['settlement'], files: lane.files }));
}

function chainLaneCountFromEnv(passed: string[]): number {
  const count = countFromEnv('TUSK_CHAIN_LANES', passed);
  if (count > 1 && !process.env.TUSK_AZTEC_NODE_URL) {
    console.error('TUSK_CHAIN_LANES > 1 needs TUSK_AZTEC_NODE_URL (a running network: npm run aztec:up)');
    process.exit(2);
  }
  return count;
}

const shardCountFromEnv = (passed: string[]) => countFromEnv('TUSK_TEST_SHARDS', passed);

function countFromEnv(name: string, passed: string[]): number {
  const raw = process.env[name] ?? '1';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    console.error(`${name} must be a whole number ≥ 1, not "${raw}"`);
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
  const runs = [...quickRuns(shardCountFromEnv(passed)), ...chainRuns(chainLaneCountFromEnv(passed))];
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
