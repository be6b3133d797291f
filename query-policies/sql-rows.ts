import { ALLOWED_TABLE_FUNCTIONS } from './sql-functions';
import type { LintIssue } from './sql-tree';

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;
const nodes = (value: unknown): Node[] => (Array.isArray(value) ? value.filter(isNode) : []);
const lower = (value: unknown) => String(value).toLowerCase();

/**
 * The rules of the row-independent template language, each with the rewrite the lint suggests.
 * A template passes when its rows are a row-by-row function of the dataset's rows: every output
 * row comes from exactly one dataset row and depends on no other (PRIVACY.md, "Row independence").
 */
export const ROW_RULES = {
  subquery: {
    what: 'a subquery inside an expression (EXISTS, IN (SELECT ...), ANY/ALL, a scalar subquery) lets other rows decide whether this row is kept or what it holds',
    rewrite:
      "test this row's own columns instead (WHERE zip3 IN ($a, $b)); a per-group fact belongs in a dimension, which the perimeter aggregates",
  },
  set_operation: {
    what: 'UNION / INTERSECT / EXCEPT combine or cancel rows across the dataset',
    rewrite: 'write one SELECT whose WHERE joins the conditions with OR (or AND NOT)',
  },
  distinct: {
    what: 'DISTINCT / DISTINCT ON keeps a row only if no other row is the same (or first)',
    rewrite:
      'drop DISTINCT: the perimeter counts distinct privacy units itself (a count_units metric) and bounds each unit',
  },
  order_limit: {
    what: 'ORDER BY / LIMIT / OFFSET make which rows are kept depend on the other rows',
    rewrite: 'drop them: the perimeter answers per group, in a fixed order, with every row counted',
  },
  window: {
    what: 'a window function (... OVER (...)) computes a row from other rows',
    rewrite: "compute the value from this row's own columns; ranks and running totals cannot be bounded",
  },
  join: {
    what: 'a join (a self-join, or with any table other than a generated range) pairs rows of different people',
    rewrite:
      'select from the dataset table alone (a lookup becomes a CASE expression, or a column the seller adds); only range()/generate_series()/unnest() of constants may be joined',
  },
  dataset_once: {
    what: 'the dataset must be read exactly once, as the one source of the SELECT (directly, or through one CTE or subquery)',
    rewrite:
      'read the dataset in one place: a CTE over it may be selected from once; a CTE may not take the dataset table name',
  },
} as const;

export type RowRule = keyof typeof ROW_RULES;

/** One coded issue saying which rule is broken, why that matters, and how to rewrite the SQL. */
export function rowRuleIssue(rule: RowRule, detail?: string): LintIssue {
  const { what, rewrite } = ROW_RULES[rule];
  return { code: rule, message: `${detail ? `${detail}: ` : ''}${what}. Rewrite: ${rewrite}` };
}

/** How DuckDB's subquery types read in the SQL a seller wrote. */
const SUBQUERY_KINDS: Record<string, string> = {
  EXISTS: 'EXISTS (SELECT ...)',
  NOT_EXISTS: 'NOT EXISTS (SELECT ...)',
  ANY: 'IN (SELECT ...) / ANY / ALL',
  SCALAR: 'a scalar subquery (SELECT ...)',
};

/** A table function that generates public rows from constants and parameters only. */
function isGenerator(ref: Node): boolean {
  if (ref.type !== 'TABLE_FUNCTION' || !isNode(ref.function)) return false;
  if (!ALLOWED_TABLE_FUNCTIONS.has(lower(ref.function.function_name))) return false;
  const reads = (value: unknown): boolean =>
    Array.isArray(value)
      ? value.some(reads)
      : isNode(value) &&
        (value.class === 'COLUMN_REF' || value.class === 'SUBQUERY' || Object.values(value).some(reads));
  return !reads(ref.function.children);
}

/**
 * Checks that a template's SELECT is in the row-independent language: per SELECT node one source
 * (the dataset, a CTE or a FROM-subquery, optionally cross/inner joined to generated ranges); no
 * expression subqueries, set operations, DISTINCT, or ORDER BY / LIMIT / OFFSET (window functions
 * are refused by sql-tree.ts); the dataset read exactly once in the whole statement. Aggregates
 * and grouping are refused by the tree check too; this pass is only about which rows an output
 * row may depend on.
 */
export function rowIndependenceIssues(statement: unknown, dataset: string): LintIssue[] {
  const found = new Map<string, LintIssue>();
  const add = (rule: RowRule, detail?: string) => {
    const issue = rowRuleIssue(rule, detail);
    found.set(issue.message, issue);
  };
  let datasetReads = 0;

  function source(ref: Node): void {
    switch (ref.type) {
      case 'BASE_TABLE':
        if (lower(ref.table_name) === dataset) datasetReads += 1;
        return;
      case 'SUBQUERY':
        if (isNode(ref.subquery)) query(ref.subquery.node);
        return;
      default:
        add('dataset_once', `FROM ${String(ref.type)}`);
    }
  }

  function from(ref: unknown): void {
    if (!isNode(ref) || ref.type === 'EMPTY') return add('dataset_once', 'a SELECT without FROM');
    if (ref.type !== 'JOIN') return source(ref);
    const sides = [ref.left, ref.right].filter(isNode);
    const generators = sides.filter(isGenerator);
    const plainJoin =
      (ref.join_type === 'INNER' && ['REGULAR', 'CROSS'].includes(String(ref.ref_type))) || false;
    if (!plainJoin || generators.length !== 1)
      return add('join', `${String(ref.join_type)} ${String(ref.ref_type)} JOIN`);
    const other = sides.find((side) => !isGenerator(side));
    if (other) from(other);
    if (isNode(ref.condition)) expressions(ref.condition);
  }

  function expressions(value: unknown): void {
    if (Array.isArray(value)) return value.forEach(expressions);
    if (!isNode(value)) return;
    if (value.class === 'SUBQUERY') {
      add('subquery', SUBQUERY_KINDS[String(value.subquery_type)] ?? 'a subquery');
      return;
    }
    // Window functions are refused by the tree check, with the same rule and rewrite.
    for (const child of Object.values(value)) expressions(child);
  }

  function query(value: unknown): void {
    if (!isNode(value)) return;
    if (value.type === 'SET_OPERATION_NODE')
      return add('set_operation', typeof value.setop_type === 'string' ? value.setop_type : undefined);
    if (value.type !== 'SELECT_NODE') return; // refused as unsupported syntax by the tree check
    for (const entry of isNode(value.cte_map) ? nodes(value.cte_map.map) : []) {
      if (lower(entry.key) === dataset) add('dataset_once', `a CTE named ${dataset}`);
      const cte = isNode(entry.value) && isNode(entry.value.query) ? entry.value.query.node : undefined;
      query(cte);
    }
    for (const modifier of nodes(value.modifiers)) {
      if (modifier.type === 'DISTINCT_MODIFIER') add('distinct');
      else add('order_limit', String(modifier.type).replace('_MODIFIER', '').replace('_PERCENT', ' %'));
    }
    from(value.from_table);
    expressions([
      value.select_list,
      value.where_clause,
      value.having,
      value.qualify,
      value.group_expressions,
    ]);
  }

  query(statement);
  if (datasetReads !== 1) add('dataset_once', `the dataset ${dataset} is read ${datasetReads} times`);
  return [...found.values()];
}
