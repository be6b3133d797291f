import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTemplateSql } from '../../query-policies/sql-lint';
import { complianceProblem } from '../../query-policies/compliance';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { queryTemplate } from '../../query-policies/template';
import {
  ALLOWED_AGGREGATE_FUNCTIONS,
  ALLOWED_SCALAR_FUNCTIONS,
  ALLOWED_TABLE_FUNCTIONS,
} from '../../query-policies/sql-functions';
import { sampleTemplate } from '../support/templates';

const COLUMNS = new Set(['person_id', 'age', 'sex', 'zip3', 'diagnosis_code', 'cost', 'visit_date']);

describe('template SQL lint (DuckDB parser)', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });
  const lint = (sql: string, changes = {}) =>
    lintTemplateSql(connection, sampleTemplate({ sql, ...changes }), COLUMNS);
  const codes = async (sql: string, changes = {}) => (await lint(sql, changes)).map((issue) => issue.code);

  it('accepts a plain cohort SELECT, with a CTE or a generated range', async () => {
    expect(await lint('SELECT person_id, zip3, cost FROM patients WHERE age > $min_age')).toEqual([]);
    expect(
      await lint(
        'WITH c AS (SELECT * FROM patients WHERE age > $min_age) SELECT person_id, zip3, cost FROM c',
      ),
    ).toEqual([]);
    expect(
      await lint('SELECT p.person_id, p.zip3, p.cost FROM patients p, range(2) r WHERE age > $min_age'),
    ).toEqual([]);
  });

  it('refuses several statements and anything but a SELECT', async () => {
    expect(
      await codes('SELECT person_id, zip3, cost FROM patients WHERE age > $min_age; DROP TABLE patients'),
    ).toEqual(['several_statements']);
    expect(await codes('DELETE FROM patients WHERE age > $min_age')).toEqual(['not_a_select']);
    expect(await codes("COPY patients TO '/tmp/out.csv'")).toEqual(['not_a_select']);
    expect(await codes('SELEC person_id FROM patients')).toEqual(['syntax']);
  });

  it('refuses reading files, the network, settings, extensions or other tables', async () => {
    const base = 'SELECT person_id, zip3, cost FROM patients WHERE age > $min_age';
    expect(await codes(`${base} AND zip3 IN (SELECT column0 FROM read_csv('/etc/passwd'))`)).toContain(
      'forbidden_function',
    );
    expect(await codes(`${base} AND zip3 IN (SELECT * FROM 'https://example.org/x.parquet')`)).toContain(
      'unknown_table',
    );
    expect(await codes(`${base} AND zip3 = getenv('HOME')`)).toContain('forbidden_function');
    expect(await codes(`${base} AND zip3 IN (SELECT * FROM query('SELECT 1'))`)).toContain(
      'forbidden_function',
    );
    expect(await codes(`${base} AND zip3 = current_setting('threads')::VARCHAR`)).toContain(
      'forbidden_function',
    );
    expect(await codes(`${base} AND zip3 IN (SELECT database_name FROM duckdb_databases())`)).toContain(
      'forbidden_function',
    );
    expect(await codes('SELECT person_id, zip3, cost FROM other.patients WHERE age > $min_age')).toContain(
      'qualified_table',
    );
    expect(await codes('SELECT person_id, zip3, cost FROM secrets WHERE age > $min_age')).toContain(
      'unknown_table',
    );
    expect(await codes('INSTALL httpfs')).toEqual(['not_a_select']);
  });

  it('checks parameters, columns and the output the template needs', async () => {
    expect(await codes('SELECT person_id, zip3, cost FROM patients WHERE age > $max_age')).toEqual([
      'undeclared_parameter',
      'unused_parameter',
    ]);
    expect(await codes('SELECT person_id, zip3, cost FROM patients WHERE salary > $min_age')).toEqual([
      'unknown_column',
    ]);
    expect(await codes('SELECT person_id, zip3 FROM patients WHERE age > $min_age')).toEqual([
      'missing_output',
    ]);
    expect(await codes('SELECT person_id, zip3, cost, age + 1 FROM patients WHERE age > $min_age')).toEqual([
      'unnamed_output',
    ]);
  });
});

describe('template SQL lint by allow-list', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });
  const base = 'SELECT person_id, zip3, cost FROM patients WHERE age > $min_age';
  const lint = (sql: string, columns: Set<string> | undefined = COLUMNS) =>
    lintTemplateSql(connection, sampleTemplate({ sql }), columns);
  const codes = async (sql: string) => (await lint(sql)).map((issue) => issue.code);

  it('refuses error(), getvariable() and other functions off the allow-list', async () => {
    const errorBit = `${base} AND CASE WHEN person_id = 42 THEN error('bit') ELSE true END`;
    expect(await lint(errorBit)).toEqual([
      { code: 'forbidden_function', message: 'error() is not on the allow-list of functions' },
    ]);
    expect(await codes(`${base} AND zip3 = getvariable('x')`)).toEqual(['forbidden_function']);
    for (const call of [
      'random() < 0.5',
      "now() > '2020-01-01'",
      "current_date > '2020-01-01'",
      "version() <> ''",
    ])
      expect(await codes(`${base} AND ${call}`), call).toEqual(['forbidden_function']);
    expect(await codes(`${base} AND main.error('x')`)).toEqual(['forbidden_function']);
    const afterStar = `WITH c AS (SELECT *, error('x') AS e FROM patients) SELECT person_id, zip3, cost FROM c WHERE age > $min_age`;
    expect((await lint(afterStar, undefined)).map((i) => i.code)).toEqual(['forbidden_function']);
    // a bare current_date is a function too, with or without the dataset's columns known
    expect(await codes(`${base} AND visit_date < current_date`)).toEqual(['forbidden_function']);
    expect((await lint(`${base} AND visit_date < current_date`, undefined)).map((i) => i.code)).toEqual([
      'forbidden_function',
    ]);
  });

  it('accepts pure functions, CASE, COALESCE, casts and generated rows', async () => {
    const sql = [
      'SELECT person_id, upper(zip3) AS zip3, round(coalesce(cost, 0) * 1.1, 2) AS cost,',
      "CASE WHEN age BETWEEN 18 AND 64 THEN 'adult' ELSE 'other' END AS band,",
      "date_trunc('month', visit_date) AS month, nullif(sex, '') AS sex, age::INTEGER + 1 AS next_age",
      "FROM patients WHERE age > $min_age AND diagnosis_code LIKE 'E1%' AND zip3 IN ('100', '101')",
      "AND year(visit_date) >= 2020 AND visit_date < DATE '2030-01-01' + INTERVAL 1 DAY",
    ].join(' ');
    expect(await lint(sql)).toEqual([]);
    expect(
      await lint(
        `SELECT p.person_id, p.zip3, p.cost FROM patients p, range(2) r WHERE age > $min_age AND r.range < 2`,
      ),
    ).toEqual([]);
  });

  it('scopes CTE names: only inside the statement defining them, after their definition', async () => {
    const select = 'SELECT person_id, zip3, cost FROM';
    expect(
      await lint(
        `WITH a AS (SELECT * FROM patients), b AS (SELECT * FROM a) ${select} b WHERE age > $min_age`,
      ),
    ).toEqual([]);
    // b is used before it is defined
    expect(
      await codes(
        `WITH a AS (SELECT * FROM b), b AS (SELECT * FROM patients) ${select} a WHERE age > $min_age`,
      ),
    ).toEqual(['unknown_table']);
    // secrets is a CTE inside a subquery only: outside it, the name is another table
    const hidden = `${select} patients WHERE age > $min_age AND zip3 IN (SELECT zip3 FROM secrets)
      AND EXISTS (WITH secrets AS (SELECT 1 AS zip3) SELECT zip3 FROM secrets)`;
    const issues = await lint(hidden);
    expect(issues).toContainEqual({
      code: 'unknown_table',
      message: "table secrets is not the template's dataset (patients) nor a CTE defined before it",
    });
    // (and both subqueries break row independence: other rows would decide this one)
    expect(issues.map((issue) => issue.code).filter((code) => code !== 'unknown_table')).toEqual([
      'subquery',
      'subquery',
    ]);
    // a CTE's own name inside its body is the table of that name, not the CTE
    expect(
      await codes(`WITH secrets AS (SELECT * FROM secrets) ${select} secrets WHERE age > $min_age`),
    ).toContain('unknown_table');
  });

  it('refuses SHOW, DESCRIBE, SUMMARIZE, PRAGMA and other statements, even nested', async () => {
    expect(await codes('SHOW patients')).toEqual(['not_a_select']);
    expect(await codes('DESCRIBE patients')).toEqual(['not_a_select']);
    expect(await codes('SUMMARIZE patients')).toEqual(['not_a_select']);
    expect(await codes(`${base} AND zip3 IN (SELECT column_name FROM (DESCRIBE patients))`)).toContain(
      'not_a_select',
    );
    expect(await codes("PRAGMA table_info('patients')")).toEqual(['not_a_select']);
    expect(await codes('EXPLAIN SELECT 1')).toEqual(['not_a_select']);
    expect(await codes('SET threads = 1')).toEqual(['not_a_select']);
    expect(await codes('CALL pragma_version()')).toEqual(['not_a_select']);
    expect(
      await codes(`WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) ${base}`),
    ).toContain('unsupported_syntax');
    expect(await codes(`${base} USING SAMPLE 10%`)).toContain('unsupported_syntax');
  });

  it('checks every column against the dataset, the SELECT list included', async () => {
    expect(await lint('SELECT person_id, zip3, cost, salary FROM patients WHERE age > $min_age')).toEqual([
      {
        code: 'unknown_column',
        message: 'column salary is not in dataset patients nor made by the SQL before it is used',
      },
    ]);
    expect(
      await codes('SELECT person_id, zip3, cost, p.salary AS s FROM patients p WHERE age > $min_age'),
    ).toEqual(['unknown_column']);
    // an alias made by the SQL is a column of its own, and a CTE has the columns it selects
    expect(
      await lint(
        'WITH c AS (SELECT person_id, zip3, cost * 2 AS cost2 FROM patients WHERE age > $min_age) SELECT person_id, zip3, cost2 AS cost FROM c',
      ),
    ).toEqual([]);
    expect(
      await codes(
        'WITH c AS (SELECT person_id, zip3 FROM patients WHERE age > $min_age) SELECT person_id, zip3, cost FROM c',
      ),
    ).toEqual(['unknown_column']);
  });

  it('refuses aggregates, grouping and window functions in the row-level SQL', async () => {
    expect(
      await codes(
        'SELECT person_id, zip3, sum(cost) AS cost FROM patients WHERE age > $min_age GROUP BY ALL',
      ),
    ).toEqual(['aggregate', 'aggregate']);
    expect(await codes(`${base} AND cost > (SELECT avg(cost) FROM patients)`)).toEqual([
      'aggregate',
      'subquery',
    ]);
    expect(await codes(`${base} AND (SELECT count(*) FROM patients WHERE person_id = 42) > 0`)).toEqual([
      'aggregate',
      'subquery',
    ]);
    expect(
      await codes(
        'SELECT person_id, zip3, cost, row_number() OVER (PARTITION BY zip3) AS n FROM patients WHERE age > $min_age',
      ),
    ).toEqual(['window']);
    expect(
      await codes('SELECT person_id, zip3, sum(cost) OVER () AS cost FROM patients WHERE age > $min_age'),
    ).toEqual(['window']);
  });

  it('parses the statement the perimeter runs: a trailing comment or parenthesis cannot change it', async () => {
    const commented = await lint(`${base} --`);
    expect(commented.map((issue) => issue.code)).toContain('spliced_statement');
    expect(commented[0]!.message).toMatch(/changes the statement the perimeter runs/);
    // the same SQL on its own lines around the wrapper is harmless, and passes
    expect(await lint(`${base}\n`)).toEqual([]);
  });

  it('keeps the demo template clean', async () => {
    const file = join(__dirname, '../../query-policies/demo-seller/cohort-cost-by-zip3.json');
    const demo = queryTemplate.parse(JSON.parse(await readFile(file, 'utf8')));
    const columns = new Set(['person_id', 'age', 'sex', 'zip3', 'diagnosis_code', 'cost']);
    expect(await lintTemplateSql(connection, demo, columns)).toEqual([]);
    expect(await lintTemplateSql(connection, demo)).toEqual([]);
  });

  it("allow-lists only functions of DuckDB's catalog that are consistent and free of side effects", async () => {
    const reader = await connection.runAndReadAll(
      `SELECT function_name AS name, function_type AS type, stability, has_side_effects AS effects
       FROM duckdb_functions()`,
    );
    const catalog = reader.getRowObjectsJS() as {
      name: string;
      type: string;
      stability: string | null;
      effects: boolean | null;
    }[];
    const entries = (name: string) => catalog.filter((row) => row.name === name);
    for (const name of ALLOWED_SCALAR_FUNCTIONS) {
      const found = entries(name);
      expect(found.length, name).toBeGreaterThan(0);
      for (const row of found) {
        expect(['scalar', 'macro'], name).toContain(row.type);
        // macros carry no stability of their own in the catalog
        if (row.type === 'scalar') expect(row.stability, name).toBe('CONSISTENT');
        expect(row.effects ?? false, name).toBe(false);
      }
    }
    for (const name of ALLOWED_AGGREGATE_FUNCTIONS)
      expect(
        entries(name).map((row) => row.type),
        name,
      ).toContain('aggregate');
    for (const name of ALLOWED_TABLE_FUNCTIONS)
      expect(
        entries(name).map((row) => row.type),
        name,
      ).toContain('table');
  });
});

describe('compliance presets', () => {
  const template = sampleTemplate();
  it('names what the deal does not meet', () => {
    expect(
      complianceProblem(template, {
        jurisdiction: 'US',
        purpose: 'research',
        acceptedDataClasses: ['health'],
      }),
    ).toBeUndefined();
    expect(
      complianceProblem(template, {
        jurisdiction: 'CN',
        purpose: 'research',
        acceptedDataClasses: ['health'],
      }),
    ).toBe('jurisdiction CN is not allowed (allowed: US)');
    expect(
      complianceProblem(template, {
        jurisdiction: 'US',
        purpose: 'marketing',
        acceptedDataClasses: ['health'],
      }),
    ).toBe('purpose marketing is not allowed (allowed: research)');
    expect(
      complianceProblem(template, { jurisdiction: 'US', purpose: 'research', acceptedDataClasses: [] }),
    ).toBe('the buyer must accept data classes: health');
  });
});
