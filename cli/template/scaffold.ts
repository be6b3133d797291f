import { existsSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  MAX_DOMAIN_GROUPS,
  queryTemplate,
  type DimensionDomain,
  type MetricSpec,
  type ParameterSpec,
  type QueryTemplate,
} from '../../query-policies/template';
import { templatePath } from '../../query-policies/template-files';
import { CliError, writeFileAtomic } from '../common';
import { readWorkspace } from '../seller/workspace';

/** Left in a scaffold's title and description; `tusk template sign` refuses a template that still has it. */
export const REVIEW_MARK = '[REVIEW]';

const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const DATE = /^(DATE|TIMESTAMP.*)$/;
/** A text column with at most this many distinct values is offered as a dimension. */
const MAX_DIMENSION_VALUES = 50;
/** The draft's minCohortSize; a value fewer units than this have is left out of a proposed domain. */
const MIN_COHORT = 20;

interface Column {
  name: string;
  type: string;
}

async function describe(connection: DuckDBConnection, table: string): Promise<Column[]> {
  const reader = await connection.runAndReadAll(`DESCRIBE "${table}"`).catch(() => {
    throw new CliError(
      `no table ${table} in the seller's database (load it: tusk seller import <file> --table ${table})`,
    );
  });
  return reader
    .getRowObjectsJson()
    .map((row) => ({ name: row.column_name as string, type: row.column_type as string }));
}

const scalar = async (connection: DuckDBConnection, sql: string) =>
  (await connection.runAndReadAll(sql)).getRowObjectsJson()[0] ?? {};

/** Rounds up to one or two significant digits (1, 2, 2.5, 5 × 10^n): a bound a person would pick. */
export function roundUp(value: number): number {
  if (value <= 0) return 0;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= value)!;
  return step * magnitude;
}

export interface ScaffoldOptions {
  table: string;
  seller?: string;
  home?: string;
  id?: string;
  unit?: string;
  dimensions?: string;
  force?: boolean;
}

/**
 * A template drafted from a table's schema, with bounds suggested from the seller's own data. It is
 * written on the seller's machine only, marked for review, and cannot be signed until reviewed.
 */
export async function scaffoldTemplate(options: ScaffoldOptions): Promise<void> {
  const workspace = await readWorkspace(options);
  if (!existsSync(workspace.database))
    throw new CliError(
      `no data yet in ${workspace.database} (load it: tusk seller import <file> --table ${options.table})`,
    );
  const id = options.id ?? options.table.replaceAll('_', '-');
  const out = templatePath(workspace.dir, id);
  if (existsSync(out) && !options.force) throw new CliError(`${out} exists; pass --force to draft it again`);
  const instance = await DuckDBInstance.create(workspace.database, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const columns = await describe(connection, options.table);
    const names = columns.map((c) => c.name);
    const unit = options.unit ?? names.find((n) => /(^id$|_id$)/.test(n));
    if (!unit || !names.includes(unit))
      throw new CliError(
        `which column is one person (or card, or account)? pass --unit COLUMN (columns: ${names.join(', ')})`,
      );
    const dimensions = options.dimensions
      ? options.dimensions.split(',').map((d) => d.trim())
      : await lowCardinalityText(connection, options.table, columns, unit);
    for (const d of dimensions)
      if (!names.includes(d)) throw new CliError(`no column ${d} in ${options.table}`);
    if (dimensions.length === 0)
      throw new CliError(`no text column with few values to group by: pass --dimensions COLUMN[,COLUMN]`);
    const metricColumns = columns.filter(
      (c) => NUMERIC.test(c.type) && c.name !== unit && !dimensions.includes(c.name),
    );
    const dateColumn = columns.find((c) => DATE.test(c.type));
    const notes: string[] = [];
    const metrics: MetricSpec[] = [{ name: 'units', aggregate: 'count_units' }];
    for (const column of metricColumns) {
      // The perimeter clamps each unit's total in a group (query-policies/cohort-sql.ts): propose
      // bounds from those totals on the seller's own data, never from single rows.
      const groupBy = [...dimensions, unit].map((name) => `"${name}"`).join(', ');
      const row = await scalar(
        connection,
        `SELECT min(total)::DOUBLE AS lo, quantile_cont(total, 0.99)::DOUBLE AS hi FROM (SELECT sum("${column.name}") AS total FROM "${options.table}" WHERE "${unit}" IS NOT NULL GROUP BY ${groupBy})`,
      );
      const min = Math.min(0, Math.floor(Number(row.lo ?? 0)));
      const max = roundUp(Number(row.hi ?? 1)) || 1;
      metrics.push({ name: `total_${column.name}`, aggregate: 'sum', column: column.name, min, max });
      notes.push(
        `metrics total_${column.name}: each ${unit}'s total of ${column.name} in a group is held between ${min} and ${max} (the 99th percentile of those totals here, rounded up)`,
      );
    }
    const parameters: Record<string, ParameterSpec> = {};
    let where = '';
    if (dateColumn) {
      const row = await scalar(
        connection,
        `SELECT year(min("${dateColumn.name}")) AS lo, year(max("${dateColumn.name}")) AS hi FROM "${options.table}"`,
      );
      const [lo, hi] = [Number(row.lo), Number(row.hi)];
      parameters.from_year = {
        type: 'integer',
        min: lo,
        max: hi,
        description: `first year of ${dateColumn.name}`,
      };
      parameters.to_year = {
        type: 'integer',
        min: lo,
        max: hi,
        description: `last year of ${dateColumn.name}`,
      };
      where = ` WHERE year("${dateColumn.name}") BETWEEN $from_year AND $to_year`;
      notes.push(
        `parameters from_year, to_year: the years of ${dateColumn.name} in your data (${lo} to ${hi})`,
      );
    }
    const domain = await proposedDomain(connection, options.table, dimensions, unit);
    notes.push(...domain.notes);
    const selected = [unit, ...dimensions, ...metricColumns.map((c) => c.name)];
    const template: QueryTemplate = {
      id,
      version: 1,
      seller: workspace.seller.seller,
      title: `${REVIEW_MARK} ${options.table}: ${metrics.map((m) => m.name).join(', ')} by ${dimensions.join(' and ')}`,
      description:
        `${REVIEW_MARK} Drafted by tusk template new from the table's schema and this seller's own data; ` +
        'the bounds and ranges were read from the data on this machine and are for the seller alone: ' +
        "they are themselves facts about the data (a largest value may be one person's), so choose " +
        'bounds you would state without looking, then delete both review marks and write what a buyer gets.',
      dataset: options.table,
      sql: `SELECT ${selected.map((c) => `"${c}"`).join(', ')} FROM "${options.table}"${where}`,
      parameters,
      dimensions,
      metrics,
      privacyUnit: unit,
      maxGroupsPerUnit: 5,
      minCohortSize: MIN_COHORT,
      privacy: domain.groupDomain
        ? { mechanism: 'discrete_laplace', epsilon: 1 }
        : { mechanism: 'discrete_laplace', epsilon: 1, selectionDelta: 1e-6 },
      ...(domain.groupDomain ? { groupDomain: domain.groupDomain } : {}),
      price: '1000',
      compliance: { jurisdictions: ['US'], purposes: ['research'], dataClasses: ['financial'] },
      multiSeller: false,
      privateSelection: false,
    };
    // Not a valid template would be a defect of the scaffold, not of the seller's data.
    queryTemplate.parse(template);
    await writeFileAtomic(out, `${JSON.stringify(template, null, 2)}\n`);
    console.log(
      [
        `drafted ${out}`,
        `REVIEW before signing (the draft stays on this machine; nothing was sent):`,
        `  privacyUnit ${unit}: one person's rows share it; maxGroupsPerUnit 5 bounds how many groups one person reaches`,
        domain.groupDomain
          ? `  dimensions ${dimensions.join(', ')}: every group of the groupDomain is released, empty ones too (review its values below)`
          : `  dimensions ${dimensions.join(', ')}: groups are released by private partition selection (δ 1e-6)`,
        ...notes.map((n) => `  ${n}`),
        `  bounds read from data are facts about the data: prefer bounds you would state without looking`,
        `  privacy ε 1 per answer, minCohortSize 20, price 1000, compliance US/research/financial: set yours`,
        `then: remove every ${REVIEW_MARK}, tusk template lint ${out} --dataset ${workspace.database}`,
        `      tusk template sign ${out} --seller ${workspace.seller.seller}; tusk template publish ${out} --as ${workspace.seller.seller}`,
      ].join('\n'),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * A groupDomain proposed from the values each dimension takes in the seller's data, leaving out
 * values fewer than MIN_COHORT units have: a declared domain is public, and a rare value in it says
 * that a few people have it. None when a dimension has too many values or the cross product is too
 * large: the draft then uses private partition selection.
 */
async function proposedDomain(
  connection: DuckDBConnection,
  table: string,
  dimensions: string[],
  unit: string,
): Promise<{ groupDomain?: Record<string, DimensionDomain>; notes: string[] }> {
  const groupDomain: Record<string, DimensionDomain> = {};
  const notes: string[] = [];
  let groups = 1;
  for (const dimension of dimensions) {
    const rows = (
      await connection.runAndReadAll(
        `SELECT "${dimension}"::VARCHAR AS value, count(DISTINCT "${unit}") AS units FROM "${table}" ` +
          `WHERE "${dimension}" IS NOT NULL GROUP BY 1 ORDER BY 1 LIMIT ${MAX_DIMENSION_VALUES + 1}`,
      )
    ).getRowObjectsJson();
    if (rows.length > MAX_DIMENSION_VALUES) return { notes: [] };
    const common = rows.filter((row) => Number(row.units) >= MIN_COHORT).map((row) => row.value as string);
    const rare = rows.filter((row) => Number(row.units) < MIN_COHORT).map((row) => row.value as string);
    if (common.length === 0) return { notes: [] };
    groupDomain[dimension] = common;
    groups *= common.length;
    notes.push(
      `groupDomain ${dimension}: ${common.join(', ')} (the values in your data; keep only values you would list without looking, e.g. a public code list)`,
    );
    if (rare.length > 0)
      notes.push(
        `groupDomain ${dimension} leaves out ${rare.join(', ')}: fewer than ${MIN_COHORT} ${unit} values have them, so naming them would say a few people do; add them if the list is public`,
      );
  }
  return groups <= MAX_DOMAIN_GROUPS ? { groupDomain, notes } : { notes: [] };
}

async function lowCardinalityText(
  connection: DuckDBConnection,
  table: string,
  columns: Column[],
  unit: string,
): Promise<string[]> {
  const found: string[] = [];
  for (const column of columns.filter((c) => c.type === 'VARCHAR' && c.name !== unit)) {
    const row = await scalar(
      connection,
      `SELECT approx_count_distinct("${column.name}") AS n FROM "${table}"`,
    );
    if (Number(row.n) <= MAX_DIMENSION_VALUES) found.push(column.name);
    if (found.length === 2) break;
  }
  return found;
}
