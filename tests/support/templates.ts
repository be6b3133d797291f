import type { QueryTemplate } from '../../query-policies/template';

/** A small valid template to vary in unit tests. */
export function sampleTemplate(changes: Partial<QueryTemplate> = {}): QueryTemplate {
  return {
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
    maxGroupsPerUnit: 2,
    minCohortSize: 10,
    privacy: { mechanism: 'discrete_laplace', epsilon: 1, selectionDelta: 1e-6 },
    price: '5',
    compliance: { jurisdictions: ['US'], purposes: ['research'], dataClasses: ['health'] },
    multiSeller: false,
    privateSelection: false,
    ...changes,
  };
}
