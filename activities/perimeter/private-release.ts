import { domainGroups, groupKey } from '../../query-policies/group-domain';
import type { NoisePlan } from '../../query-policies/noise-plan';
import type { QueryTemplate } from '../../query-policies/template';
import type { Cell, ReleasedTable } from '../../lib/released-table';
import { sumColumn, UNITS_COLUMN } from '../../query-policies/cohort-sql';
import { fitDimension, maxReleasedGroups } from '../../query-policies/result-size';
import { drawNoise } from './dp/noise';
import type { RandomSource } from './dp/random-source';

/** One group's exact aggregates, as the perimeter's SQL computed them: never leaves this module. */
interface Group {
  dimensions: Cell[];
  units: bigint;
  sums: Record<string, bigint>;
}

const toBigInt = (value: unknown): bigint =>
  typeof value === 'bigint' ? value : BigInt(Math.round(Number(value ?? 0)));

const dimensionCell = (value: unknown): Cell => {
  if (value === null || value === undefined) return null;
  // Strings, numbers, and DuckDB value objects (dates, decimals) whose toString is their SQL text.
  return typeof value === 'string' ? value : (value as { toString(): string }).toString();
};

function readGroups(template: QueryTemplate, rows: Record<string, unknown>[]): Group[] {
  const summed = template.metrics.filter((metric) => metric.aggregate !== 'count_units');
  return rows.map((row) => ({
    dimensions: template.dimensions.map((dimension) => dimensionCell(row[dimension])),
    units: toBigInt(row[UNITS_COLUMN]),
    sums: Object.fromEntries(summed.map((metric) => [metric.name, toBigInt(row[sumColumn(metric.name)])])),
  }));
}

/**
 * The groups an answer is about, fixed before any data is looked at when the template declares its
 * domain: every group of the domain, an absent one as zeros; a row outside the domain is dropped
 * whatever its size. Without a domain, the groups present in the data are candidates only, and the
 * noisy threshold decides (see releasePrivately).
 */
function candidateGroups(template: QueryTemplate, groups: Group[]): Group[] {
  if (!template.groupDomain) return groups;
  const byKey = new Map(
    groups
      .filter((group) => group.dimensions.every((cell) => cell !== null))
      .map((group) => [groupKey(group.dimensions), group]),
  );
  const summed = template.metrics.filter((metric) => metric.aggregate !== 'count_units');
  return domainGroups(template).map(
    (dimensions) =>
      byKey.get(groupKey(dimensions)) ?? {
        dimensions,
        units: 0n,
        sums: Object.fromEntries(summed.map((metric) => [metric.name, 0n])),
      },
  );
}

/**
 * From the perimeter's exact per-group aggregates to what may leave. Every candidate group's count
 * and sums get discrete noise of the plan's scale, and only noisy numbers are compared with anything:
 * - declared domain: every group of the domain is a row; one whose noisy count is under k shows its
 *   dimensions with null numbers;
 * - partition selection: a group is a row only if its noisy count reaches max(τ, k); of those, at
 *   most the template's maxGroups, the highest noisy counts first (ties in the SQL's order, which is
 *   by dimension values), and dimension values cut to the padded width.
 * No decision here depends on an exact count, so which rows appear is covered by (ε, δ): the cut to
 * maxGroups and the cut of long values are functions of the released (group, noisy count) pairs.
 */
export function releasePrivately(
  template: QueryTemplate,
  plan: NoisePlan,
  rows: Record<string, unknown>[],
  random: RandomSource,
): ReleasedTable {
  const k = BigInt(template.minCohortSize);
  const selection = plan.groupRelease;
  const floor =
    selection.kind === 'partition_selection' && BigInt(selection.threshold) > k
      ? BigInt(selection.threshold)
      : k;
  const released: { units: bigint; row: Cell[] }[] = [];
  for (const group of candidateGroups(template, readGroups(template, rows))) {
    const units = group.units + drawNoise(random, plan.mechanism, plan.countNoise);
    const noisySums = Object.fromEntries(
      Object.entries(group.sums).map(([name, sum]) => [
        name,
        sum + drawNoise(random, plan.mechanism, plan.sumNoise[name]!),
      ]),
    );
    if (units >= floor)
      released.push({
        units,
        row: [...group.dimensions, ...template.metrics.map((metric) => metricCell(metric, units, noisySums))],
      });
    else if (selection.kind === 'declared_domain')
      released.push({ units, row: [...group.dimensions, ...template.metrics.map(() => null)] });
  }
  return {
    columns: [...template.dimensions, ...template.metrics.map((metric) => metric.name)],
    rows:
      selection.kind === 'declared_domain'
        ? released.map(({ row }) => row)
        : selected(released, maxReleasedGroups(template), template.dimensions.length),
    privacy: {
      mechanism: plan.mechanism,
      epsilonSpent: plan.epsilon,
      delta: plan.delta,
      noiseScales: {
        units: plan.countScale,
        ...Object.fromEntries(
          Object.entries(plan.sumScales).map(([name, scale]) => [`${name} (sum)`, scale]),
        ),
      },
      minCohortSize: template.minCohortSize,
      groupRelease: selection,
    },
  };
}

/**
 * Partition selection's rows: at most `limit`, the highest noisy counts kept, in their first order;
 * dimension values cut to the width a sealed answer is padded for.
 */
function selected(released: { units: bigint; row: Cell[] }[], limit: number, dimensions: number): Cell[][] {
  let kept = released;
  if (released.length > limit) {
    const byCount = released
      .map((entry, at) => ({ ...entry, at }))
      .sort((a, b) => (a.units === b.units ? a.at - b.at : a.units > b.units ? -1 : 1));
    const keep = new Set(byCount.slice(0, limit).map(({ at }) => at));
    kept = released.filter((_, at) => keep.has(at));
  }
  return kept.map(({ row }) =>
    row.map((cell, at) => (at < dimensions && typeof cell === 'string' ? fitDimension(cell) : cell)),
  );
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
