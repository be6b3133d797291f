import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithTimeout } from '../../activities/perimeter/query-runner';
import { SandboxPool } from '../../activities/perimeter/sandbox-pool';
import {
  cohortAggregateSql,
  cohortTotalSql,
  sumColumn,
  TOTAL_COLUMN,
  UNITS_COLUMN,
} from '../../query-policies/cohort-sql';
import { lintTemplate } from '../../query-policies/sql-lint';
import type { QueryTemplate } from '../../query-policies/template';
import { sampleTemplate } from '../support/templates';

/**
 * Ten ordinary people in zip 100 (cost 10), and person 42 whose every value makes some allow-listed
 * expression raise: cost 0 (ln), zip 'abc' (a cast to INTEGER), visit 'garbage' (strptime),
 * age 5 (age + 2147483643 overflows INTEGER), cost_text 'n/a' (the wrapper's cast to DOUBLE).
 */
async function writeDataset(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE patients (person_id BIGINT, zip3 VARCHAR, age INTEGER,
    cost DOUBLE, visit VARCHAR, cost_text VARCHAR)`);
  await connection.run(`INSERT INTO patients SELECT i, '100', 1, 10, '2020-01-01', '10' FROM range(10) t(i)`);
  await connection.run(`INSERT INTO patients VALUES (42, 'abc', 5, 0, 'garbage', 'n/a')`);
  connection.closeSync();
  instance.closeSync();
}

let directory: string;
let pool: SandboxPool;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tusk-total-'));
  await writeDataset(join(directory, 'patients.duckdb'));
  pool = new SandboxPool(
    { patients: join(directory, 'patients.duckdb') },
    { memoryLimit: '256MB', threads: 1 },
  );
});
afterAll(() => rm(directory, { recursive: true, force: true }));

const run = (sql: string) =>
  pool.withConnection('patients', (connection) =>
    runWithTimeout(connection, sql, { min_age: 0 }, { timeoutMs: 10_000 }),
  );
const raises = (sql: string) =>
  run(sql).then(
    () => 'ran',
    (error: Error) => error.message,
  );

/** The template as the perimeter runs it: linted against the dataset, its SQL made total. */
async function asRun(sql: string): Promise<QueryTemplate> {
  const template = sampleTemplate({ sql });
  const linted = await pool.withConnection('patients', async (connection) => {
    const columns = (await connection.runAndReadAll('SELECT * FROM patients LIMIT 0')).columnNames();
    return lintTemplate(connection, template, new Set(columns));
  });
  expect(linted.issues).toEqual([]);
  return { ...template, sql: linted.totalSql! };
}

const OUT = 'SELECT person_id, zip3, cost FROM patients WHERE age > $min_age';

/** Filters that raise on person 42's row: with TRY the row is simply not selected. */
const RAISING_FILTERS: [string, string, RegExp][] = [
  ['a failing cast', `${OUT} AND zip3::INTEGER > 0`, /Could not convert string 'abc'/],
  ['strptime on bad text', `${OUT} AND strptime(visit, '%Y-%m-%d') > DATE '2000-01-01'`, /Could not parse/],
  ['integer overflow', `${OUT} AND abs(age + 2147483643) > 0`, /Overflow in addition of INT32/],
  ['ln(0)', `${OUT} AND ln(cost) > 0`, /logarithm of zero/],
  ['sqrt of a negative', `${OUT} AND sqrt(cost - 5) > 0`, /square root of a negative/],
];

describe('total expressions: a value that would raise yields NULL', () => {
  it.each(RAISING_FILTERS)('%s in the WHERE leaves the row out instead of raising', async (_, sql, error) => {
    // The template as written raises on person 42's row (so the test can fail)...
    expect(await raises(sql)).toMatch(error);
    // ...as the perimeter runs it, that row is simply not selected: the ten others are answered.
    const template = await asRun(sql);
    expect(await run(cohortAggregateSql(template))).toEqual([
      { zip3: '100', [UNITS_COLUMN]: 10n, [sumColumn('avg_cost')]: 100n },
    ]);
    const [total] = await run(cohortTotalSql(template, template.metrics[0]!));
    expect(Number(total![TOTAL_COLUMN])).toBe(10);
  });

  // A unit whose metric is NULL is clamped like any other (greatest ignores NULL): to the metric's
  // minimum, 0 here. Each ordinary person adds round(ln 10).
  it('ln(0) in an output is NULL: the person is counted, their value is the bound minimum', async () => {
    const sql = 'SELECT person_id, zip3, ln(cost) AS cost FROM patients WHERE age > $min_age';
    expect(await raises(sql)).toMatch(/logarithm of zero/);
    const groups = await run(cohortAggregateSql(await asRun(sql)));
    expect(groups).toContainEqual({ zip3: 'abc', [UNITS_COLUMN]: 1n, [sumColumn('avg_cost')]: 0n });
    const ordinary = BigInt(10 * Math.round(Math.log(10)));
    expect(groups).toContainEqual({ zip3: '100', [UNITS_COLUMN]: 10n, [sumColumn('avg_cost')]: ordinary });
  });

  it('a cast in the privacy unit that fails leaves the row out of every answer', async () => {
    const sql = 'SELECT zip3::INTEGER AS person_id, zip3, cost FROM patients WHERE age > $min_age';
    expect(await raises(sql)).toMatch(/Could not convert/);
    // Every ordinary row is unit 100; person 42's row has no unit and is in no group.
    expect(await run(cohortAggregateSql(await asRun(sql)))).toEqual([
      { zip3: '100', [UNITS_COLUMN]: 1n, [sumColumn('avg_cost')]: 100n },
    ]);
  });

  it("the wrapper's own cast of a metric to DOUBLE cannot raise on text", async () => {
    const sql = 'SELECT person_id, zip3, cost_text AS cost FROM patients WHERE age > $min_age';
    expect(await raises(`SELECT sum(cost::DOUBLE) FROM (${sql})`)).toMatch(/Could not convert string 'n\/a'/);
    expect(await run(cohortAggregateSql(await asRun(sql)))).toEqual([
      { zip3: '100', [UNITS_COLUMN]: 10n, [sumColumn('avg_cost')]: 100n },
      { zip3: 'abc', [UNITS_COLUMN]: 1n, [sumColumn('avg_cost')]: 0n },
    ]);
  });

  it('keeps the rows, the names and the parameters of the SQL as written', async () => {
    const sql = `WITH c AS (SELECT person_id, zip3, cost * 2 AS doubled FROM patients WHERE age > $min_age)
      SELECT person_id, zip3, doubled / 2 AS cost FROM c`;
    const template = await asRun(sql);
    expect(template.sql).toMatch(/TRY\(/);
    expect(await run(`SELECT * FROM (${template.sql}) ORDER BY person_id`)).toEqual(
      await run(`SELECT * FROM (${sql}) ORDER BY person_id`),
    );
  });
});
