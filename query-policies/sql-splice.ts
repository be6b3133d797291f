import type { DuckDBConnection } from '@duckdb/node-api';
import { cohortAggregateSql, cohortTotalSql } from './cohort-sql';
import { parseSql } from './sql-parse';
import { checkSelectTree, type LintIssue } from './sql-tree';
import type { QueryTemplate } from './template';

/** Stands in for the template's SELECT when the wrapper alone is parsed. */
const PLACEHOLDER = `SELECT 'tusk splice placeholder' AS __tusk_placeholder`;

/** Every statement the perimeter builds around a template's SQL, by what it is for. */
function perimeterStatements(template: QueryTemplate): [string, (sql: string) => string][] {
  return [
    ['the grouped answer', (sql) => cohortAggregateSql({ ...template, sql })],
    ...template.metrics.map((metric): [string, (sql: string) => string] => [
      `the milestone total of ${metric.name}`,
      (sql) => cohortTotalSql({ ...template, sql }, metric),
    ]),
  ];
}

/** Parse trees compare equal when they differ only in where in the text each node stood. */
const shape = (value: unknown) =>
  JSON.stringify(value, (key, item: unknown) => (key === 'query_location' ? undefined : item));

/**
 * Walks the wrapper's tree (placeholder inside) and the spliced statement's tree side by side:
 * they must be the same everywhere, except that where the wrapper holds the placeholder the
 * spliced statement holds exactly the template's own SELECT. Returns that subtree, or undefined.
 */
function templateSlot(wrapper: unknown, spliced: unknown, placeholder: string, template: string) {
  let slot: unknown;
  const same = (w: unknown, s: unknown): boolean => {
    if (typeof w !== 'object' || w === null || typeof s !== 'object' || s === null) return w === s;
    if (shape(w) === placeholder) {
      slot = s;
      return shape(s) === template;
    }
    const keys = Object.keys(w).filter((key) => key !== 'query_location');
    const otherKeys = Object.keys(s).filter((key) => key !== 'query_location');
    if (keys.length !== otherKeys.length || Array.isArray(w) !== Array.isArray(s)) return false;
    return keys.every((key) => same((w as never)[key], (s as never)[key]));
  };
  return same(wrapper, spliced) ? slot : undefined;
}

/**
 * The statements the perimeter actually runs, with the template's SQL spliced in: each must be
 * one statement that parses to exactly the perimeter's wrapper around exactly the template's
 * SELECT (so a trailing `--`, an unbalanced parenthesis or a comment cannot change the wrapper),
 * and the wrapper itself may call only allow-listed functions and aggregates.
 */
export async function checkSplicedStatements(
  connection: DuckDBConnection,
  template: QueryTemplate,
  templateNode: unknown,
  templateOutputs: (string | null)[],
): Promise<LintIssue[]> {
  const issues: LintIssue[] = [];
  const [placeholderTree] = (await parseSql(connection, PLACEHOLDER)).statements ?? [];
  for (const [label, wrap] of perimeterStatements(template)) {
    const refuse = (why: string) =>
      issues.push({
        code: 'spliced_statement',
        message: `the template's SQL changes the statement the perimeter runs (${label}): ${why}`,
      });
    const sql = wrap(template.sql);
    const count = await connection.extractStatements(sql).then(
      (extracted) => extracted.count,
      () => 1,
    );
    if (count !== 1) {
      refuse(`it holds ${count} statements`);
      continue;
    }
    const spliced = await parseSql(connection, sql);
    const wrapper = await parseSql(connection, wrap(PLACEHOLDER));
    if (spliced.error || !spliced.statements || spliced.statements.length !== 1) {
      refuse(spliced.error ?? 'it does not parse to one statement');
      continue;
    }
    const slot = templateSlot(
      wrapper.statements?.[0]?.node,
      spliced.statements[0]!.node,
      shape(placeholderTree?.node),
      shape(templateNode),
    );
    if (slot === undefined) {
      refuse('it no longer parses as the wrapper around the template (a comment or parenthesis?)');
      continue;
    }
    const wrapperCheck = checkSelectTree(spliced.statements[0]!.node, {
      dataset: template.dataset,
      mode: 'wrapper',
      opaque: { node: slot, columns: templateOutputs },
    });
    for (const found of wrapperCheck.issues)
      issues.push({
        code: found.code,
        message: `in the statement the perimeter runs (${label}): ${found.message}`,
      });
  }
  return issues;
}
