/**
 * The contribution-bounded SQL against the raw aggregate on one dataset, plan by plan, interleaved:
 * - raw: count(DISTINCT unit), avg and sum per group, written by hand (no bounds: the floor);
 * - current: cohortAggregateSql as the perimeter runs it (per-unit clamp, MATERIALIZED per_unit,
 *   ANTI JOIN of units over maxGroupsPerUnit);
 * - inline: the same without MATERIALIZED (DuckDB decides whether to share per_unit);
 * - window: one pass over per_unit, each row carrying count(*) OVER (PARTITION BY unit);
 * - semi: the units within the bound kept by IN (…) instead of the ANTI JOIN;
 * - unordered: current, with preserve_insertion_order = false (a setting, same SQL).
 * Every variant's rows are compared with current's (same bounds should give the same answer; a
 * faster plan that answers differently is not a candidate until the difference is explained), and
 * current's with its own second run. Prints each median beside raw, with the load.
 * Usage: npx tsx bench/bounded-sql.ts -- [--rows 10000000] [--runs 5] [--plans] [--smoke]
 * (--plans: EXPLAIN ANALYZE of each once; --smoke: 10,000 rows, one run)
 */
import { mkdir, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { openSandbox } from '../activities/perimeter/sandbox';
import { cohortAggregateSql } from '../query-policies/cohort-sql';
import { readTemplateFile } from '../query-policies/template-files';
import type { QueryTemplate } from '../query-policies/template';
import { createSyntheticPatients } from '../lib/synthetic-patients';

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string' },
    runs: { type: 'string' },
    plans: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
  },
});
const rows = Number(flags.rows ?? (flags.smoke ? 10_000 : 10_000_000));
const runs = Number(flags.runs ?? (flags.smoke ? 1 : 5));
const LIMITS = { memoryLimit: '4GB', threads: 2 };
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(1))
    .join(' ');

async function dataset(): Promise<string> {
  // The same file bench:perimeter keeps: generating 10M rows takes longer than the comparison.
  const path = resolve(`.tusk/bench/patients-${rows}.duckdb`);
  if (!(await stat(path).catch(() => undefined))) {
    await mkdir(resolve('.tusk/bench'), { recursive: true });
    console.log(`generating ${rows.toLocaleString('en')} rows (once)…`);
    await createSyntheticPatients({ path, rows });
  }
  return path;
}

const quote = (identifier: string) => `"${identifier}"`;

/** The current statement rewritten to one pass: each per-unit row knows its unit's group count. */
function windowSql(template: QueryTemplate): string {
  const current = cohortAggregateSql(template);
  const [head] = current.split('\nover_bound AS');
  const dimensions = template.dimensions.map(quote).join(', ');
  const select = current.split('\n').find((line) => line.startsWith('SELECT'))!;
  return [
    head!.replace('AS MATERIALIZED (', 'AS ('),
    `counted AS (SELECT *, count(*) OVER (PARTITION BY __unit) AS __groups FROM per_unit)`,
    select,
    `FROM counted WHERE __groups <= ${template.maxGroupsPerUnit}`,
    `GROUP BY ${dimensions}`,
    `ORDER BY ${dimensions}`,
  ].join('\n');
}

/** The current statement with the units within the bound kept by a semi-join. */
function semiSql(template: QueryTemplate): string {
  const current = cohortAggregateSql(template);
  return current
    .replace(
      /over_bound AS \(.*HAVING count\(\*\) > (\d+)\)/,
      'within_bound AS (SELECT __unit FROM per_unit GROUP BY __unit HAVING count(*) <= $1)',
    )
    .replace(
      'FROM per_unit ANTI JOIN over_bound USING (__unit)',
      'FROM per_unit WHERE __unit IN (SELECT __unit FROM within_bound)',
    );
}

async function connect(path: string, settings: Record<string, string> = {}): Promise<DuckDBConnection> {
  if (Object.keys(settings).length === 0) return (await openSandbox(path, LIMITS)).connect();
  const instance = await DuckDBInstance.create(path, {
    access_mode: 'READ_ONLY',
    enable_external_access: 'false',
    autoload_known_extensions: 'false',
    autoinstall_known_extensions: 'false',
    memory_limit: LIMITS.memoryLimit,
    threads: String(LIMITS.threads),
    lock_configuration: 'true',
    ...settings,
  });
  return instance.connect();
}

/** How a variant's answer compares with current's (raw answers something else, so it is not compared). */
const sameness = (cells: number | undefined) =>
  cells === undefined
    ? ''
    : cells === 0
      ? '   same answer as current'
      : `   ${cells} cells differ from current`;

interface Variant {
  name: string;
  sql: string;
  connection: DuckDBConnection;
}

async function main() {
  const path = await dataset();
  const demo = await readTemplateFile(resolve('query-policies/demo-seller/cohort-cost-by-zip3.json'));
  const template = { ...demo, seller: 'bench-seller' };
  const sandbox = await connect(path);
  const unordered = await connect(path, { preserve_insertion_order: 'false' });
  const raw = await (
    await DuckDBInstance.create(path, { access_mode: 'READ_ONLY', threads: String(LIMITS.threads) })
  ).connect();
  const current = cohortAggregateSql(template);
  const variants: Variant[] = [
    {
      name: 'raw',
      sql: `SELECT zip3, diagnosis_code, count(DISTINCT person_id) AS patients, avg(cost) AS avg_cost, sum(cost) AS total_cost
        FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex GROUP BY ALL`,
      connection: raw,
    },
    { name: 'current', sql: current, connection: sandbox },
    { name: 'inline', sql: current.replace('AS MATERIALIZED (', 'AS ('), connection: sandbox },
    { name: 'window', sql: windowSql(template), connection: sandbox },
    { name: 'semi', sql: semiSql(template), connection: sandbox },
    { name: 'unordered', sql: current, connection: unordered },
  ];
  const parametersOf = (run: number) => ({
    min_age: 30 + run,
    max_age: 50 + run,
    sex: run % 2 === 0 ? 'F' : 'M',
  });
  // Same bounds, same answer: every bounded variant's rows are compared with current's (and current
  // with itself run again: the per-unit sums are DOUBLE, added in whatever order the threads take).
  const answer = async (variant: Variant) =>
    (await variant.connection.runAndReadAll(variant.sql, parametersOf(0))).getRowsJson();
  const reference = (await answer(variants[1]!)).flat().map((cell) => JSON.stringify(cell));
  const differing = new Map<string, number>();
  for (const variant of variants.slice(1)) {
    const rows = await answer(variant);
    const cells = rows.flat().map((cell) => JSON.stringify(cell));
    differing.set(
      variant.name,
      cells.length === reference.length
        ? cells.filter((cell, at) => cell !== reference[at]).length
        : Number.POSITIVE_INFINITY,
    );
  }
  if (flags.plans)
    for (const variant of variants) {
      const plan = await variant.connection.runAndReadAll(`EXPLAIN ANALYZE ${variant.sql}`, parametersOf(0));
      console.log(
        `\n── ${variant.name}\n${plan
          .getRows()
          .map((row) => (typeof row[1] === 'string' ? row[1] : ''))
          .join('\n')}`,
      );
    }
  const samples = variants.map((): number[] => []);
  const loads: string[] = [];
  for (let run = 0; run < runs; run++) {
    // Parameters vary per run, the same for every variant within it; variants take turns.
    for (const [i, variant] of variants.entries()) {
      const started = performance.now();
      await variant.connection.runAndReadAll(variant.sql, parametersOf(run + 1));
      samples[i]!.push(performance.now() - started);
    }
    loads.push(load());
  }
  const rawMs = median(samples[0]!);
  console.log(
    `\nrows ${rows.toLocaleString('en')}, medians of ${runs} interleaved runs; load per run: ${loads.join(' | ')}`,
  );
  for (const [i, variant] of variants.entries()) {
    const ms = median(samples[i]!);
    console.log(
      `${variant.name.padEnd(10)} ${ms.toFixed(0).padStart(7)} ms   ${(ms / rawMs).toFixed(2)}× raw${sameness(differing.get(variant.name))}`,
    );
  }
  for (const connection of [raw, sandbox, unordered]) connection.closeSync();
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
