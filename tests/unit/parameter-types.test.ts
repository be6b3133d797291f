import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { boundParameters } from '../../activities/perimeter/bound-parameters';
import { parametersSchema, queryTemplate } from '../../query-policies/template';
import { sampleTemplate } from '../support/templates';

const ranged = sampleTemplate({
  sql: 'SELECT person_id, zip3, cost FROM patients WHERE visit_date BETWEEN $from AND $to AND cost >= $min_cost',
  parameters: {
    from: { type: 'date', min: '2020-01-01', max: '2030-12-31' },
    to: { type: 'date', min: '2020-01-01', max: '2030-12-31' },
    min_cost: { type: 'decimal', scale: 2, min: '0.00', max: '99999.99' },
  },
  constraints: [{ lessOrEqual: ['from', 'to'] }],
});

const issues = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((issue) => issue.message) ?? [];

describe('date and decimal parameters, and constraints between parameters', () => {
  it('a template declaring them is valid', () => {
    expect(queryTemplate.safeParse(ranged).success).toBe(true);
  });

  it('accepts an ISO date range in order and a decimal at its scale', () => {
    const values = { from: '2024-01-01', to: '2024-03-31', min_cost: '12.50' };
    expect(parametersSchema(ranged).parse(values)).toEqual(values);
    expect(parametersSchema(ranged).safeParse({ ...values, to: '2024-01-01' }).success).toBe(true);
  });

  it('a missing parameter is required, and one of the wrong type still says what it must be', () => {
    const result = parametersSchema(ranged).safeParse({ from: '2024-01-01', min_cost: 12 });
    expect(result.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['to', 'required'],
      ['min_cost', 'Invalid input: expected string, received number'],
    ]);
  });

  it('refuses from after to, naming both values', () => {
    const result = parametersSchema(ranged).safeParse({
      from: '2024-05-01',
      to: '2024-04-01',
      min_cost: '1.00',
    });
    expect(issues(result)).toEqual(['from (2024-05-01) must be at most to (2024-04-01)']);
  });

  it('lessThan refuses equal values', () => {
    const strict = { ...ranged, constraints: [{ lessThan: ['from', 'to'] as [string, string] }] };
    const result = parametersSchema(strict).safeParse({
      from: '2024-01-01',
      to: '2024-01-01',
      min_cost: '1.00',
    });
    expect(issues(result)).toEqual(['from (2024-01-01) must be below to (2024-01-01)']);
  });

  it('refuses dates that are not YYYY-MM-DD or do not exist, or are out of bounds', () => {
    const schema = parametersSchema(ranged);
    for (const bad of [
      '2024-1-01',
      '01/02/2024',
      '2023-02-29',
      '2024-13-01',
      '2019-12-31',
      "2024-01-01' OR 1=1",
    ])
      expect(schema.safeParse({ from: bad, to: '2024-06-01', min_cost: '1.00' }).success, bad).toBe(false);
    expect(schema.safeParse({ from: '2024-02-29', to: '2024-06-01', min_cost: '1.00' }).success).toBe(true);
  });

  it('refuses decimals at another scale, as numbers, or out of bounds', () => {
    const schema = parametersSchema(ranged);
    for (const bad of ['12.5', '12.500', '12', 12.5, '-1.00', '100000.00', '1e3', '01.00'])
      expect(
        schema.safeParse({ from: '2024-01-01', to: '2024-01-02', min_cost: bad }).success,
        String(bad),
      ).toBe(false);
  });

  it('a template is refused when a constraint names an unknown parameter or mixes types', () => {
    const unknown = queryTemplate.safeParse({ ...ranged, constraints: [{ lessOrEqual: ['from', 'until'] }] });
    expect(unknown.success).toBe(false);
    const mixed = queryTemplate.safeParse({
      ...ranged,
      constraints: [{ lessOrEqual: ['from', 'min_cost'] }],
    });
    expect(issues(mixed)).toContain('a constraint compares two integers, dates or decimals');
  });

  it('a template is refused when a decimal bound is not written at its scale, or bounds are reversed', () => {
    const scale = queryTemplate.safeParse({
      ...ranged,
      parameters: { ...ranged.parameters, min_cost: { type: 'decimal', scale: 2, min: '0', max: '10.00' } },
    });
    expect(issues(scale)).toContain('min and max must be written with exactly 2 decimal places');
    const reversed = queryTemplate.safeParse({
      ...ranged,
      parameters: { ...ranged.parameters, from: { type: 'date', min: '2030-01-01', max: '2020-01-01' } },
    });
    expect(issues(reversed)).toContain('min is above max');
  });

  it('binds dates as DATE and decimals as exact DECIMAL values in DuckDB', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const values = boundParameters(ranged, { from: '2024-02-29', to: '2024-03-01', min_cost: '0.10' });
      const reader = await connection.runAndReadAll(
        `SELECT typeof($from) AS from_type, $to - $from AS days, typeof($min_cost) AS cost_type,
                $min_cost * 3 = 0.30 AS exact`,
        values,
      );
      expect(reader.getRowObjectsJson()).toEqual([
        { from_type: 'DATE', days: '1', cost_type: 'DECIMAL(18,2)', exact: true },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
