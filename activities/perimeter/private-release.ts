import type { QueryTemplate } from '../../query-policies/template';
import { sumColumn, UNITS_COLUMN } from './cohort-sql';
import { drawNoise } from './dp/noise';
import type { NoisePlan } from '../../query-policies/noise-plan';
import type { Cell, ReleasedTable } from '../../lib/released-table';
import type { RandomSource } from './dp/random-source';

interface Group {
  dimensions: Cell[];
  units: bigint;
  sums: Record<string, bigint>;
}

export const REMAINDER_LABEL = '*';

const toBigInt = (value: unknown): bigint =>
  typeof value === 'bigint' ? value : BigInt(Math.round(Number(value ?? 0)));

function readGroups(template: QueryTemplate, rows: Record<string, unknown>[]): Group[] {
  const summed = template.metrics.filter((metric) => metric.aggregate !== 'count_units');
  return rows.map((row) => ({
    dimensions: template.dimensions.map((dimension) => {
      const value = row[dimension];
      if (value === null || value === undefined) return null;
      // Strings, numbers, and DuckDB value objects (dates, decimals) whose toString is their SQL text.
      return typeof value === 'string' ? value : (value as { toString(): string }).toString();
    }),
    units: toBigInt(row[UNITS_COLUMN]),
    sums: Object.fromEntries(summed.map((metric) => [metric.name, toBigInt(row[sumColumn(metric.name)])])),
  }));
}

function mergeIntoRemainder(template: QueryTemplate, groups: Group[]): Group {
  const sums: Record<string, bigint> = {};
  for (const group of groups)
    for (const [name, sum] of Object.entries(group.sums)) sums[name] = (sums[name] ?? 0n) + sum;
  return {
    dimensions: template.dimensions.map(() => REMAINDER_LABEL),
    units: groups.reduce((total, group) => total + group.units, 0n),
    sums,
  };
}

/**
 * From the perimeter's exact per-group aggregates to what may leave: groups under k distinct units
 * are withheld (or folded into one remainder row), every number gets discrete noise of the plan's
 * scale, and a group whose noisy count falls under k is withheld too, so no released count is small.
 */
export function releasePrivately(
  template: QueryTemplate,
  plan: NoisePlan,
  rows: Record<string, unknown>[],
  random: RandomSource,
): ReleasedTable {
  const k = BigInt(template.minCohortSize);
  const groups = readGroups(template, rows);
  const small = groups.filter((group) => group.units < k);
  const candidates = groups.filter((group) => group.units >= k);
  if (template.suppression === 'remainder' && small.length > 0) {
    const remainder = mergeIntoRemainder(template, small);
    if (remainder.units >= k) candidates.push(remainder);
  }
  const released: Cell[][] = [];
  let remainderReleased = false;
  for (const group of candidates) {
    const units = group.units + drawNoise(random, plan.mechanism, plan.countScale);
    if (units < k) continue;
    const noisySums = Object.fromEntries(
      Object.entries(group.sums).map(([name, sum]) => [
        name,
        sum + drawNoise(random, plan.mechanism, plan.sumScales[name]!),
      ]),
    );
    released.push([
      ...group.dimensions,
      ...template.metrics.map((metric) => metricCell(metric, units, noisySums)),
    ]);
    if (group.dimensions.every((value) => value === REMAINDER_LABEL)) remainderReleased = true;
  }
  const columns = [...template.dimensions, ...template.metrics.map((metric) => metric.name)];
  return {
    columns,
    rows: released,
    privacy: {
      mechanism: plan.mechanism,
      epsilonSpent: plan.epsilon,
      noiseScales: {
        units: round2(plan.countScale),
        ...Object.fromEntries(
          Object.entries(plan.sumScales).map(([name, scale]) => [`${name} (sum)`, round2(scale)]),
        ),
      },
      minCohortSize: template.minCohortSize,
      groupsReleased: released.length,
      groupsSuppressed: groups.length - released.length + (remainderReleased ? 1 : 0),
      remainderReleased,
    },
  };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

function metricCell(
  metric: QueryTemplate['metrics'][number],
  units: bigint,
  sums: Record<string, bigint>,
): number {
  switch (metric.aggregate) {
    case 'count_units':
      return Number(units);
    case 'sum':
      return Number(
        clampBig(
          sums[metric.name]!,
          BigInt(Math.ceil(metric.min)) * units,
          BigInt(Math.floor(metric.max)) * units,
        ),
      );
    case 'avg':
      // Post-processing of noisy values: the mean per unit, kept within the metric's bounds.
      return round2(Math.min(metric.max, Math.max(metric.min, Number(sums[metric.name]!) / Number(units))));
  }
}

const clampBig = (value: bigint, low: bigint, high: bigint) =>
  value < low ? low : value > high ? high : value;
