/**
 * `npm test`: every suite, as two vitest runs side by side. The settlement suite spends most of its
 * time waiting for Aztec blocks, and vitest runs projects that forbid file parallelism one file after
 * another in a single queue; run apart, the chain's waits overlap the integration suite's work.
 *
 * Usage: npm test -- [vitest arguments, e.g. a file filter or -t <name>]
 *   Arguments go to both runs; a filter that matches files of one run only leaves the other empty.
 *   TUSK_TEST_REPORT=<path prefix> also writes each run's JSON report to <prefix>-<run>.json.
 */
import { concurrently } from 'concurrently';

const runs = [
  { name: 'quick', projects: ['unit', 'integration'] },
  { name: 'chain', projects: ['settlement'] },
];

/** Quotes one argument for the shell concurrently starts each command in, when it needs it. */
const shellQuote = (value: string) =>
  /^[\w./=:@%+,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;

function commandFor(run: (typeof runs)[number], passed: string[]): string {
  const report = process.env.TUSK_TEST_REPORT;
  const args = [
    'vitest',
    'run',
    ...run.projects.flatMap((project) => ['--project', project]),
    '--passWithNoTests',
    ...(report ? ['--reporter=default', '--reporter=json', `--outputFile=${report}-${run.name}.json`] : []),
    ...passed,
  ];
  return ['npx', ...args].map(shellQuote).join(' ');
}

async function main(): Promise<void> {
  const passed = process.argv.slice(2);
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
