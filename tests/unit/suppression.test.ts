import { describe, expect, it } from 'vitest';
import { cohortAggregateSql, UNITS_COLUMN } from '../../activities/perimeter/cohort-sql';
import { suppressSmallGroups } from '../../activities/perimeter/suppression';
import type { QueryTemplate } from '../../query-policies/template';

const template: QueryTemplate = {
  id: 't',
  version: 1,
  seller: 's',
  title: 't',
  description: 'd',
  dataset: 'patients',
  sql: 'SELECT person_id, zip3, cost FROM patients WHERE age > $min_age',
  parameters: { min_age: { type: 'integer', min: 0, max: 120 } },
  dimensions: ['zip3'],
  metrics: [
    { name: 'patients', aggregate: 'count_units' },
    { name: 'avg_cost', aggregate: 'avg', column: 'cost', min: 0, max: 100 },
  ],
  privacyUnit: 'person_id',
  minCohortSize: 10,
  price: '5',
};

describe('small-group suppression', () => {
  it('withholds groups under k distinct units and keeps the rest, in template column order', () => {
    const released = suppressSmallGroups(template, [
      { zip3: '100', [UNITS_COLUMN]: 10n, patients: 10n, avg_cost: 12.345 },
      { zip3: '101', [UNITS_COLUMN]: 9n, patients: 9n, avg_cost: 50 },
      { zip3: '102', [UNITS_COLUMN]: 250n, patients: 250n, avg_cost: 7 },
    ]);
    expect(released).toEqual({
      columns: ['zip3', 'patients', 'avg_cost'],
      rows: [
        ['100', 10, 12.35],
        ['102', 250, 7],
      ],
      groupsReleased: 2,
      groupsSuppressed: 1,
    });
  });

  it('the perimeter, not the template, groups, counts distinct units and clamps values', () => {
    const sql = cohortAggregateSql(template);
    expect(sql).toContain(`count(DISTINCT "person_id") AS ${UNITS_COLUMN}`);
    expect(sql).toContain('avg(least(greatest("cost"::DOUBLE, 0), 100))');
    expect(sql).toContain(`FROM (${template.sql}) AS cohort`);
    expect(sql).toContain('GROUP BY "zip3"');
  });
});
