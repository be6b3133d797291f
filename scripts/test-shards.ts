/**
 * Splits the integration (or settlement) test files into shards of about equal running time, for
 * `npm test` to run as separate vitest processes. Each process starts its own Temporal dev server and
 * Redis (the global setup), so files in different shards never share a task queue or a codec key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

/** Seconds per file from the last measured run (scripts/test-durations.json). */
export function recordedDurations(
  file = path.join(__dirname, 'test-durations.json'),
): Record<string, number> {
  return (JSON.parse(readFileSync(file, 'utf8')) as { seconds: Record<string, number> }).seconds;
}

/** Every `*.test.ts` under `dir` (relative to the repository root), as paths from the root, sorted. */
export function testFilesUnder(dir: string, root = ROOT): string[] {
  const entries = readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' });
  return entries
    .filter((entry) => entry.endsWith('.test.ts'))
    .map((entry) => path.posix.join(dir, entry.split(path.sep).join('/')))
    .sort();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 1 : sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Longest first, each file to the shard with the least time so far (ties: the lower index, then the
 * path order), so every process that computes it gets the same split. A file with no recorded time
 * (a new one) counts as the median. Every file lands in exactly one shard.
 */
export function splitByDuration(
  files: string[],
  seconds: Record<string, number>,
  count: number,
): { files: string[]; seconds: number }[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`shard count must be a whole number ≥ 1, not ${count}`);
  const fallback = median(Object.values(seconds));
  const weight = (file: string) => seconds[file] ?? fallback;
  const shards = Array.from({ length: count }, () => ({ files: [] as string[], seconds: 0 }));
  const longestFirst = [...files].sort((a, b) => weight(b) - weight(a) || (a < b ? -1 : 1));
  for (const file of longestFirst) {
    const lightest = shards.reduce((best, shard) => (shard.seconds < best.seconds ? shard : best));
    lightest.files.push(file);
    lightest.seconds += weight(file);
  }
  for (const shard of shards) shard.files.sort();
  return shards;
}

/** The part of vitest's JSON report (`--reporter=json`) read here. */
export interface VitestJsonReport {
  testResults: { name: string; startTime: number; endTime: number }[];
}

/** The folders whose files `npm test` splits into runs by their recorded time. */
const SPLIT_FOLDERS = ['tests/integration/', 'tests/settlement/'];

/**
 * The unit and browser files, weighed as one entry of the integration split: they ride together with
 * whichever shard the split gives them, so that shard takes fewer integration files.
 */
export const RIDERS = 'tests/unit/ + tests/browser/';
const RIDER_FOLDERS = ['tests/unit/', 'tests/browser/'];

/**
 * Seconds per integration and settlement file, and of the unit and browser files together (RIDERS),
 * from vitest JSON reports (what `.ci/run` writes to
 * .tusk/ci/test-report-*.json), keyed by the path from the repository root.
 */
export function durationsFromReports(reports: VitestJsonReport[], root = ROOT): Record<string, number> {
  const seconds: Record<string, number> = {};
  let riders = 0;
  for (const report of reports)
    for (const file of report.testResults) {
      const relative = path.relative(root, file.name).split(path.sep).join('/');
      const took = (file.endTime - file.startTime) / 1000;
      if (RIDER_FOLDERS.some((folder) => relative.startsWith(folder))) riders += took;
      if (!SPLIT_FOLDERS.some((folder) => relative.startsWith(folder))) continue;
      seconds[relative] = Math.max(1, Math.round(took));
    }
  if (riders > 0) seconds[RIDERS] = Math.max(1, Math.round(riders));
  return Object.fromEntries(Object.entries(seconds).sort(([a], [b]) => (a < b ? -1 : 1)));
}
