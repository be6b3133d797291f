import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTemplateSql } from '../../query-policies/sql-lint';
import { sampleTemplate } from '../support/templates';

const COLUMNS = new Set(['person_id', 'age', 'zip3', 'cost']);
const OUT = 'a.person_id, a.zip3, a.cost';

/** The issue's leak: one added person aged $min_age moves a whole zip's count from 0 to all of it. */
const EXISTS_LEAK = `SELECT ${OUT} FROM patients a WHERE EXISTS (SELECT 1 FROM patients b WHERE b.zip3 = a.zip3 AND b.age = $min_age)`;

/** Templates that let other rows decide a row, each with the rule the lint must name. */
const REFUSED: [string, string, string][] = [
  ['EXISTS', EXISTS_LEAK, 'subquery'],
  [
    'IN (SELECT ...)',
    `SELECT ${OUT} FROM patients a WHERE a.zip3 IN (SELECT zip3 FROM patients WHERE age = $min_age)`,
    'subquery',
  ],
  [
    'a scalar subquery',
    `SELECT ${OUT} FROM patients a WHERE (SELECT max(age) FROM patients) > $min_age`,
    'subquery',
  ],
  [
    'a self-join',
    `SELECT ${OUT} FROM patients a JOIN patients b ON a.zip3 = b.zip3 WHERE b.age = $min_age`,
    'join',
  ],
  [
    'a join with a CTE over the dataset',
    `WITH b AS (SELECT zip3 FROM patients WHERE age = $min_age) SELECT ${OUT} FROM patients a, b WHERE a.zip3 = b.zip3`,
    'join',
  ],
  [
    'DISTINCT ON',
    `SELECT DISTINCT ON (zip3) person_id, zip3, cost FROM patients a WHERE age > $min_age`,
    'distinct',
  ],
  ['DISTINCT', `SELECT DISTINCT person_id, zip3, cost FROM patients WHERE age > $min_age`, 'distinct'],
  [
    'ORDER BY ... LIMIT',
    `SELECT person_id, zip3, cost FROM patients WHERE age > $min_age ORDER BY cost DESC LIMIT 1`,
    'order_limit',
  ],
  ['OFFSET', `SELECT person_id, zip3, cost FROM patients WHERE age > $min_age OFFSET 3`, 'order_limit'],
  [
    'a window function',
    `SELECT person_id, zip3, cost, rank() OVER (ORDER BY cost) AS r FROM patients WHERE age > $min_age`,
    'window',
  ],
  [
    'UNION',
    `SELECT person_id, zip3, cost FROM patients WHERE age > $min_age UNION SELECT person_id, zip3, cost FROM patients`,
    'set_operation',
  ],
  [
    'a CTE named like the dataset',
    `WITH patients AS (SELECT * FROM range(3) r(person_id)) SELECT person_id, zip3, cost FROM patients WHERE age > $min_age`,
    'dataset_once',
  ],
  [
    'the dataset read twice through CTEs',
    `WITH a AS (SELECT * FROM patients), b AS (SELECT * FROM patients WHERE age = 1) SELECT person_id, zip3, cost FROM a WHERE age > $min_age`,
    'dataset_once',
  ],
  ['no FROM', `SELECT $min_age AS person_id, '1' AS zip3, 1 AS cost`, 'dataset_once'],
  [
    'an outer join with a range',
    `SELECT person_id, zip3, cost FROM patients p LEFT JOIN range(3) r ON r.range < p.age WHERE age > $min_age`,
    'join',
  ],
];

/** Row-independent templates: each output row is a function of one dataset row. */
const ACCEPTED = [
  'SELECT person_id, zip3, cost FROM patients WHERE age > $min_age',
  'WITH c AS (SELECT person_id, zip3, cost * 2 AS cost FROM patients WHERE age > $min_age) SELECT person_id, zip3, cost FROM c',
  'SELECT person_id, zip3, cost FROM (SELECT * FROM patients WHERE cost > 1) s WHERE age > $min_age',
  'SELECT p.person_id, p.zip3, p.cost FROM patients p, range(2) r WHERE p.age > $min_age AND r.range < 2',
];

describe('the row-independent template language', () => {
  let directory: string;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'tusk-sql-rows-'));
    instance = await DuckDBInstance.create(join(directory, 'patients.duckdb'));
    connection = await instance.connect();
    // Zip 100: 50 people aged 30-79; nobody is aged 20, the age the leak keys on.
    await connection.run('CREATE TABLE patients (person_id BIGINT, zip3 VARCHAR, age INTEGER, cost DOUBLE)');
    await connection.run(`INSERT INTO patients SELECT i, '100', 30 + i, 10 FROM range(50) t(i)`);
  });
  afterAll(async () => {
    connection.closeSync();
    instance.closeSync();
    await rm(directory, { recursive: true, force: true });
  });
  const lint = (sql: string) => lintTemplateSql(connection, sampleTemplate({ sql }), COLUMNS);

  it.each(REFUSED)('refuses %s, naming the rule it breaks and how to rewrite it', async (_, sql, rule) => {
    const issues = await lint(sql);
    const broken = issues.find((issue) => issue.code === rule);
    expect(broken, JSON.stringify(issues)).toBeDefined();
    expect(broken!.message).toMatch(/Rewrite: \S/);
  });

  it('accepts selecting rows of the dataset alone, through a CTE or subquery, or repeated by a range', async () => {
    for (const sql of ACCEPTED) expect(await lint(sql), sql).toEqual([]);
  });

  it('names EXISTS in the refusal of the issue template', async () => {
    const [issue] = await lint(EXISTS_LEAK);
    expect(issue).toMatchObject({ code: 'subquery' });
    expect(issue!.message).toContain('EXISTS (SELECT ...)');
  });

  /**
   * Against the definition: on neighbouring datasets (one person added), an accepted template's
   * output changes only in that person's rows (or not at all); the refused EXISTS template changes 50 rows of
   * others, so the rule refuses a real leak (the test would fail if the lint accepted it).
   */
  it("lets one added person change only that person's rows, and refuses the template that does not", async () => {
    const rowsOf = async (sql: string) =>
      (await connection.runAndReadAll(sql, { min_age: 20 })).getRowObjectsJS().map((row) => ({
        unit: JSON.stringify(row.person_id, (_, value: unknown) =>
          typeof value === 'bigint' ? String(value) : value,
        ),
        row: JSON.stringify(row, (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value)),
      }));
    const changedUnits = async (sql: string) => {
      const before = await rowsOf(sql);
      await connection.run(`INSERT INTO patients VALUES (999, '100', 20, 10)`);
      const after = await rowsOf(sql);
      await connection.run('DELETE FROM patients WHERE person_id = 999');
      const was = new Set(before.map((r) => r.row));
      const is = new Set(after.map((r) => r.row));
      const changed = [...after.filter((r) => !was.has(r.row)), ...before.filter((r) => !is.has(r.row))];
      return new Set(changed.map((r) => r.unit));
    };
    for (const sql of ACCEPTED) expect([...(await changedUnits(sql))], sql).toEqual([]);
    // (the person is 20, so no accepted template above selects them; one that does changes their rows only)
    const older = ACCEPTED[0]!.replace('$min_age', '$min_age - 1');
    expect(await changedUnits(older)).toEqual(new Set(['"999"']));
    const leaked = await changedUnits(EXISTS_LEAK);
    expect(leaked.size).toBe(51);
    expect(await lint(EXISTS_LEAK)).not.toEqual([]);
  });
});
