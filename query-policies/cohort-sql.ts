import type { MetricSpec, QueryTemplate } from './template';

/** Columns the perimeter adds: distinct privacy units per group, and each metric's bounded sum. */
export const UNITS_COLUMN = '__privacy_units';
export const sumColumn = (metric: string) => `__sum_${metric}`;

const quote = (identifier: string) => `"${identifier}"`;

/**
 * One unit's sum of a metric's column, as DOUBLE. The wrapper's own casts are TRY_CASTs so that
 * they cannot raise on a value either (text that is not a number, a value beyond HUGEINT): a value
 * that does not convert is NULL and adds nothing, like every other bad value (sql-total.ts).
 */
const rowSum = (metric: { column: string }) => `sum(TRY_CAST(${quote(metric.column)} AS DOUBLE))`;

/**
 * The statement the perimeter actually runs around the seller's row-level SELECT:
 * 1. per (group, unit): each sum/avg metric's column is summed and the unit's total clamped to the
 *    metric's bounds, then rounded to a whole number — one unit moves one group's sum by at most
 *    max(|min|, |max|);
 * 2. units found in more than `maxGroupsPerUnit` groups are left out entirely — one unit touches at
 *    most that many groups;
 * 3. per group: distinct units and the bounded sums.
 * Rows whose privacy unit is NULL belong to no known person: they are left out of every answer
 * (otherwise they would escape the contribution bound and collapse into one "unit").
 * Grouping, counting and bounding therefore do not depend on how the template's SQL was written.
 * Identifiers come from a validated template (lower-case identifiers), so quoting needs no escaping.
 * Every cast here is a TRY_CAST: the statement raises on no value in the data.
 */
export function cohortAggregateSql(template: QueryTemplate): string {
  const dimensions = template.dimensions.map(quote).join(', ');
  const summed = template.metrics.filter((metric) => metric.aggregate !== 'count_units');
  const perUnitSums = summed.map(
    (metric) =>
      `TRY_CAST(round(least(greatest(${rowSum(metric)}, ${metric.min}), ${metric.max})) AS HUGEINT) AS ${quote(sumColumn(metric.name))}`,
  );
  const groupSums = summed.map(
    (metric) => `sum(${quote(sumColumn(metric.name))}) AS ${quote(sumColumn(metric.name))}`,
  );
  return [
    `WITH cohort AS (${template.sql}),`,
    `per_unit AS MATERIALIZED (`,
    `  SELECT ${[dimensions, `${quote(template.privacyUnit)} AS __unit`, ...perUnitSums].join(', ')}`,
    `  FROM cohort WHERE ${quote(template.privacyUnit)} IS NOT NULL`,
    `  GROUP BY ${dimensions}, ${quote(template.privacyUnit)}),`,
    `over_bound AS (SELECT __unit FROM per_unit GROUP BY __unit HAVING count(*) > ${template.maxGroupsPerUnit})`,
    `SELECT ${[dimensions, `count(*) AS ${UNITS_COLUMN}`, ...groupSums].join(', ')}`,
    `FROM per_unit ANTI JOIN over_bound USING (__unit)`,
    `GROUP BY ${dimensions}`,
    `ORDER BY ${dimensions}`,
  ].join('\n');
}

/** Column holding one metric over the whole cohort, in cohortTotalSql. */
export const TOTAL_COLUMN = '__total';

/**
 * One metric over the whole cohort the template selects, ignoring its dimensions, beside the
 * cohort's distinct privacy units: what a milestone threshold is checked against. Each unit's total
 * is clamped to the metric's bounds first, as in the grouped answer.
 */
export function cohortTotalSql(template: QueryTemplate, metric: MetricSpec): string {
  const unit = quote(template.privacyUnit);
  if (metric.aggregate === 'count_units') {
    return `SELECT count(DISTINCT ${unit}) AS ${UNITS_COLUMN}, count(DISTINCT ${unit}) AS ${TOTAL_COLUMN} FROM (${template.sql}) AS cohort WHERE ${unit} IS NOT NULL`;
  }
  const perUnit = `round(least(greatest(${rowSum(metric)}, ${metric.min}), ${metric.max})) AS __value`;
  return [
    `SELECT count(*) AS ${UNITS_COLUMN}, ${metric.aggregate}(__value) AS ${TOTAL_COLUMN}`,
    `FROM (SELECT ${unit} AS __unit, ${perUnit} FROM (${template.sql}) AS cohort WHERE ${unit} IS NOT NULL GROUP BY ${unit}) AS per_unit`,
  ].join('\n');
}
