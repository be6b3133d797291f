import type { DuckDBConnection } from '@duckdb/node-api';
import { parseSql } from './sql-parse';
import { checkSplicedStatements } from './sql-splice';
import { rowIndependenceIssues } from './sql-rows';
import { totalSql, treeShape } from './sql-total';
import { checkSelectTree, type LintIssue } from './sql-tree';
import type { QueryTemplate } from './template';

export type { LintIssue } from './sql-tree';
export { parseSql } from './sql-parse';

/** A template's lint result and, when it passes, the total form of its SQL: what the perimeter runs. */
export interface LintedTemplate {
  issues: LintIssue[];
  /** The template's SELECT with every row expression under TRY (sql-total.ts); set only when issues is empty. */
  totalSql?: string;
}

/**
 * Checks a template's SQL with DuckDB's own parser, against the template and, when known, the
 * dataset's columns: exactly one plain SELECT (no SHOW, DESCRIBE, SUMMARIZE, PRAGMA, ...); only
 * allow-listed functions (query-policies/sql-functions.ts), no aggregate or window function and
 * no grouping; row-independent (query-policies/sql-rows.ts: one read of the dataset, no
 * subquery, join, DISTINCT, ORDER BY / LIMIT / OFFSET or set operation); only the dataset's table
 * and CTEs in scope; every column resolvable, the SELECT list included; every parameter declared
 * and every declared one used; the output names the privacy unit, the dimensions and every
 * metric's column. Then the SQL is made total (every row expression under TRY) and the
 * statements the perimeter builds around it are parsed and checked too. The perimeter runs this
 * before any query, and runs the total SQL it returns.
 */
export async function lintTemplate(
  connection: DuckDBConnection,
  template: QueryTemplate,
  datasetColumns?: Set<string>,
): Promise<LintedTemplate> {
  const statements = await connection.extractStatements(template.sql).then(
    (extracted) => extracted.count,
    () => 1,
  );
  if (statements !== 1)
    return {
      issues: [
        {
          code: 'several_statements',
          message: `the SQL holds ${statements} statements; exactly one SELECT is allowed`,
        },
      ],
    };
  const parsed = await parseSql(connection, template.sql);
  if (parsed.error) {
    const notSelect = /only SELECT/i.test(parsed.error);
    return {
      issues: [
        {
          code: notSelect ? 'not_a_select' : 'syntax',
          message: notSelect ? 'only a SELECT is allowed' : parsed.error,
        },
      ],
    };
  }
  const node = parsed.statements?.[0]?.node;
  const options = { dataset: template.dataset, datasetColumns, mode: 'row' } as const;
  const tree = checkSelectTree(node, options);
  const notSelect = tree.issues.filter((issue) => issue.code === 'not_a_select');
  if (notSelect.length > 0) return { issues: notSelect };
  const issues = [
    ...tree.issues,
    ...rowIndependenceIssues(node, template.dataset),
    ...templateShapeIssues(template, tree.parameters, tree.outputColumns),
  ];
  if (issues.length > 0) return { issues };
  const spliced = await checkSplicedStatements(connection, template, node, tree.outputColumns);
  if (spliced.length > 0) return { issues: spliced };
  return totalTemplate(connection, template, options, tree.outputColumns);
}

/** The lint's issues alone (the CLI, tests). */
export async function lintTemplateSql(
  connection: DuckDBConnection,
  template: QueryTemplate,
  datasetColumns?: Set<string>,
): Promise<LintIssue[]> {
  return (await lintTemplate(connection, template, datasetColumns)).issues;
}

/**
 * The total form of a template that passed lint, checked again as what it is: the same lint on
 * its tree, the same output columns, and the perimeter's statements around it.
 */
async function totalTemplate(
  connection: DuckDBConnection,
  template: QueryTemplate,
  options: Parameters<typeof checkSelectTree>[1],
  outputColumns: (string | null)[],
): Promise<LintedTemplate> {
  const refused = (message: string): LintedTemplate => ({
    issues: [{ code: 'total_rewrite', message: `the SQL cannot be made total: ${message}` }],
  });
  const total = await totalSql(connection, template.sql);
  if ('error' in total) return refused(total.error);
  const tree = checkSelectTree(total.node, options);
  const rows = rowIndependenceIssues(total.node, template.dataset);
  if (tree.issues.length + rows.length > 0) return refused([...tree.issues, ...rows][0]!.message);
  if (treeShape(tree.outputColumns) !== treeShape(outputColumns)) return refused('its output columns change');
  const totalTemplate = { ...template, sql: total.sql };
  const spliced = await checkSplicedStatements(connection, totalTemplate, total.node, outputColumns);
  if (spliced.length > 0) return { issues: spliced };
  return { issues: [], totalSql: total.sql };
}

/** Parameters declared and used both ways; the output columns the perimeter will aggregate. */
function templateShapeIssues(
  template: QueryTemplate,
  parameters: Set<string>,
  outputColumns: (string | null)[],
): LintIssue[] {
  const issues: LintIssue[] = [];
  const issue = (code: string, message: string) => issues.push({ code, message });
  const declared = new Set(Object.keys(template.parameters));
  for (const name of parameters)
    if (!declared.has(name)) issue('undeclared_parameter', `$${name} is used but not declared`);
  for (const name of declared)
    if (!parameters.has(name)) issue('unused_parameter', `parameter ${name} is declared but never used`);
  if (outputColumns.includes(null)) issue('unnamed_output', 'name every output column (AS name)');
  const outputs = new Set(outputColumns);
  const needed = [
    template.privacyUnit,
    ...template.dimensions,
    ...template.metrics.flatMap((metric) => (metric.aggregate === 'count_units' ? [] : [metric.column])),
  ];
  for (const column of needed)
    if (!outputs.has(column)) issue('missing_output', `the SELECT must output ${column}`);
  return issues;
}
