import type { QueryTemplate } from '../../query-policies/template';

/** Legitimate but slow: every visit counted `repeat` times, so the query runs for seconds. */
export function slowTemplate(demo: QueryTemplate): QueryTemplate {
  return {
    ...demo,
    id: 'visits-repeated',
    title: 'Visits by zip3, repeated',
    sql: 'SELECT p.person_id * 10000 + r.range AS visit_key, p.zip3 FROM patients p, range($repeat) r WHERE p.age >= $min_age',
    parameters: {
      repeat: { type: 'integer', min: 1, max: 5000 },
      min_age: { type: 'integer', min: 0, max: 120 },
    },
    dimensions: ['zip3'],
    metrics: [{ name: 'visits', aggregate: 'count_units' }],
    privacyUnit: 'visit_key',
    maxGroupsPerUnit: 1,
    minCohortSize: 2,
    multiSeller: false,
    privateSelection: false,
    // No declared domain: groups are chosen by private partition selection.
    groupDomain: undefined,
    privacy: { mechanism: 'discrete_laplace', epsilon: 2, selectionDelta: 1e-6 },
  };
}
