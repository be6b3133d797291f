import type { DuckDBConnection } from '@duckdb/node-api';
import { parseSql } from './sql-parse';
import { checkSplicedStatements } from './sql-splice';
import { checkSelectTree, type LintIssue } from './sql-tree';
import type { QueryTemplate } from './template';

export type { LintIssue } from './sql-tree';
export { parseSql } from './sql-parse';

/**
 * Checks a template's SQL with DuckDB's own parser, against the template and, when known, the
 * dataset's columns: exactly one plain SELECT (no SHOW, DESCRIBE, SUMMARIZE, PRAGMA, ...); only
 * allow-listed functions (query-policies/sql-functions.ts), no aggregate or window function and
 * no grouping; only the dataset's table and CTEs in scope; every column resolvable, the SELECT
 * list included; every parameter declared and every declared one used; the output names the
 * privacy unit, the dimensions and every metric's column. Then the statements the perimeter
 * builds around the SQL are parsed and checked too. The perimeter runs this before any query.
 */
export async function lintTemplateSql(
  connection: DuckDBConnection,
  template: QueryTemplate,
  datasetColumns?: Set<string>,
): Promise<LintIssue[]> {
  const statements = await connection.extractStatements(template.sql).then(
    (extracted) => extracted.count,
    () => 1,
  );
  if (statements !== 1)
    return [
      {
        code: 'several_statements',
        message: `the SQL holds ${statements} statements; exactly one SELECT is allowed`,
      },
    ];
  const parsed = await parseSql(connection, template.sql);
  if (parsed.error) {
    const notSelect = /only SELECT/i.test(parsed.error);
    return [
      {
        code: notSelect ? 'not_a_select' : 'syntax',
        message: notSelect ? 'only a SELECT is allowed' : parsed.error,
      },
    ];
  }
  const node = parsed.statements?.[0]?.node;
  const tree = checkSelectTree(node, { dataset: template.dataset, datasetColumns, mode: 'row' });
  const notSelect = tree.issues.filter((issue) => issue.code === 'not_a_select');
  if (notSelect.length > 0) return notSelect;
  const issues = [...tree.issues, ...templateShapeIssues(template, tree.parameters, tree.outputColumns)];
  if (issues.length > 0) return issues;
  return checkSplicedStatements(connection, template, node, tree.outputColumns);
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
