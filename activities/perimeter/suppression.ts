import type { QueryTemplate } from '../../query-policies/template';
import { UNITS_COLUMN } from './cohort-sql';

export type Cell = string | number | null;

export interface ReleasedTable {
  columns: string[];
  rows: Cell[][];
  groupsReleased: number;
  groupsSuppressed: number;
}

function cell(value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isInteger(value) ? value : Math.round(value * 100) / 100;
  if (typeof value === 'bigint') return Number(value);
  // Strings, and DuckDB value objects (dates, decimals) whose toString is their SQL text.
  return typeof value === 'string' ? value : (value as { toString(): string }).toString();
}

/**
 * Drops every group with fewer than k distinct privacy units. Runs on the aggregate rows in the
 * perimeter, after the SQL, so no template can opt out of it.
 */
export function suppressSmallGroups(
  template: QueryTemplate,
  groups: Record<string, unknown>[],
): ReleasedTable {
  const columns = [...template.dimensions, ...template.metrics.map((metric) => metric.name)];
  const released = groups.filter((group) => Number(group[UNITS_COLUMN]) >= template.minCohortSize);
  return {
    columns,
    rows: released.map((group) => columns.map((column) => cell(group[column]))),
    groupsReleased: released.length,
    groupsSuppressed: groups.length - released.length,
  };
}
