import type { MetricSpec, QueryTemplate } from '../../query-policies/template';

/** Column the perimeter adds to every group: distinct privacy units, the basis of the k threshold. */
export const UNITS_COLUMN = '__privacy_units';

const quote = (identifier: string) => `"${identifier}"`;

function metricExpression(metric: MetricSpec, privacyUnit: string): string {
  switch (metric.aggregate) {
    case 'count_units':
      return `count(DISTINCT ${quote(privacyUnit)})`;
    case 'sum':
    case 'avg': {
      const clamped = `least(greatest(${quote(metric.column)}::DOUBLE, ${metric.min}), ${metric.max})`;
      return `${metric.aggregate}(${clamped})`;
    }
  }
}

/**
 * The statement the perimeter actually runs: the seller's row-level SELECT as a subquery, aggregated
 * by the perimeter itself. Grouping, the distinct-unit count and the clamping of each row's value
 * therefore do not depend on how the template's SQL was written. Identifiers come from a validated
 * template (lower-case identifiers only), so quoting them needs no escaping.
 */
export function cohortAggregateSql(template: QueryTemplate): string {
  const dimensions = template.dimensions.map(quote).join(', ');
  const metrics = template.metrics.map(
    (metric) => `${metricExpression(metric, template.privacyUnit)} AS ${quote(metric.name)}`,
  );
  return [
    `SELECT ${dimensions}, count(DISTINCT ${quote(template.privacyUnit)}) AS ${UNITS_COLUMN}, ${metrics.join(', ')}`,
    `FROM (${template.sql}) AS cohort`,
    `GROUP BY ${dimensions}`,
    `ORDER BY ${dimensions}`,
  ].join('\n');
}

/** Column holding one metric over the whole cohort, in cohortTotalSql. */
export const TOTAL_COLUMN = '__total';

/**
 * One metric over the whole cohort the template selects, ignoring its dimensions, beside the
 * cohort's distinct privacy units: what a milestone threshold is checked against.
 */
export function cohortTotalSql(template: QueryTemplate, metric: MetricSpec): string {
  return [
    `SELECT count(DISTINCT ${quote(template.privacyUnit)}) AS ${UNITS_COLUMN}, ${metricExpression(metric, template.privacyUnit)} AS ${TOTAL_COLUMN}`,
    `FROM (${template.sql}) AS cohort`,
  ].join('\n');
}
