/**
 * Rewrites scripts/test-durations.json (what `npm test` balances its integration shards and chain lanes by) from the
 * JSON reports of a whole run, e.g. after CI: npx tsx scripts/test-durations.ts .tusk/ci/test-report-*.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { durationsFromReports, type VitestJsonReport } from './test-shards';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: npx tsx scripts/test-durations.ts <vitest JSON report>...');
  process.exit(2);
}
const reports = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as VitestJsonReport);
const seconds = durationsFromReports(reports);
if (Object.keys(seconds).length === 0) {
  console.error(
    `no integration or settlement test files in ${files.join(', ')}: scripts/test-durations.json is unchanged`,
  );
  process.exit(1);
}
const target = path.join(__dirname, 'test-durations.json');
const about = (JSON.parse(readFileSync(target, 'utf8')) as { about: string }).about;
writeFileSync(target, `${JSON.stringify({ about, seconds }, null, 2)}\n`);
console.log(`${Object.keys(seconds).length} files' times written to ${target}`);
