/**
 * Runs every benchmark in bench/ with `--smoke`: tiny inputs, one run each. It checks that each one
 * still runs end to end (CI runs this, so a benchmark cannot rot unnoticed), not how fast.
 * Usage: npm run bench:smoke
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Modules the benchmarks import, not benchmarks themselves. */
const NOT_BENCHMARKS = new Set(['smoke.ts', 'bare-workflow.ts']);

/** Benchmarks that need another runtime: settlement runs on the Aztec toolchain's Node 22. */
const RUNNER: Record<string, (file: string) => [string, string[]]> = {
  'settlement.ts': (file) => [join(__dirname, '../scripts/aztec/node22'), [file, '--smoke']],
};
const onNode20 = (file: string): [string, string[]] => [
  process.execPath,
  ['--import', 'tsx', file, '--smoke'],
];

const benchmarks = readdirSync(__dirname)
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !NOT_BENCHMARKS.has(file))
  .sort();
const failed: string[] = [];
for (const file of benchmarks) {
  const started = performance.now();
  console.log(`\n── bench/${file} --smoke`);
  const [command, args] = (RUNNER[file] ?? onNode20)(join(__dirname, file));
  const run = spawnSync(command, args, {
    stdio: 'inherit',
    timeout: 600_000,
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (run.status === 0) console.log(`── bench/${file}: ok (${seconds} s)`);
  else {
    console.log(`── bench/${file}: FAILED (exit ${run.status ?? run.signal}, ${seconds} s)`);
    failed.push(file);
  }
}
console.log(
  `\nbench smoke: ${benchmarks.length - failed.length} of ${benchmarks.length} ran${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
);
process.exitCode = failed.length ? 1 : 0;
