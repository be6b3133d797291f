import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTemplateSql } from '../../query-policies/sql-lint';
import { complianceProblem } from '../../query-policies/compliance';
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
