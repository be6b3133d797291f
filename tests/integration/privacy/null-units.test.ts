import { DuckDBInstance } from '@duckdb/node-api';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cohortAggregateSql,
  cohortTotalSql,
  sumColumn,
  TOTAL_COLUMN,
  UNITS_COLUMN,
} from '../../../query-policies/cohort-sql';
import { runWithTimeout } from '../../../activities/perimeter/query-runner';
import { SandboxPool } from '../../../activities/perimeter/sandbox-pool';
import { sampleTemplate } from '../../support/templates';

const TUSK = join(__dirname, '../../../bin/tusk');
const template = sampleTemplate({ sql: 'SELECT person_id, zip3, cost FROM patients WHERE age > $min_age' });

/** Ten known persons in zip3 100 paying 10 each, and 500 rows without a person paying 90 each. */
async function writeDataset(path: string): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  await connection.run('CREATE TABLE patients (person_id BIGINT, zip3 VARCHAR, cost DOUBLE, age INTEGER)');
  await connection.run(`INSERT INTO patients SELECT i, '100', 10, 40 FROM range(10) t(i)`);
  await connection.run(
    `INSERT INTO patients SELECT NULL, CASE WHEN i % 2 = 0 THEN '100' ELSE '101' END, 90, 40 FROM range(500) t(i)`,
  );
  connection.closeSync();
  instance.closeSync();
}

let directory: string;
let pool: SandboxPool;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tusk-null-units-'));
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

describe('rows whose privacy unit is NULL', () => {
  it('are in no group of an answer: neither counted as a person nor summed', async () => {
    const groups = await run(cohortAggregateSql(template));
    expect(groups).toEqual([{ zip3: '100', [UNITS_COLUMN]: 10n, [sumColumn('avg_cost')]: 100n }]);
  });

  it('are in no milestone total', async () => {
    const [count] = await run(cohortTotalSql(template, template.metrics[0]!));
    expect(Number(count![TOTAL_COLUMN])).toBe(10);
    const sum = await run(
      cohortTotalSql(template, { name: 'cost_sum', aggregate: 'sum', column: 'cost', min: 0, max: 100 }),
    );
    expect(Number(sum[0]![TOTAL_COLUMN])).toBe(100);
  });

  it('are counted by `tusk template lint --dataset`, which says they are left out', async () => {
    const file = join(directory, 'template.json');
    await writeFile(file, JSON.stringify(template));
    const { stdout } = await promisify(execFile)(TUSK, [
      'template',
      'lint',
      file,
      '--dataset',
      join(directory, 'patients.duckdb'),
    ]);
    expect(stdout).toContain(
      '500 rows of patients have no person_id (NULL): they are left out of every answer',
    );
  });
});
