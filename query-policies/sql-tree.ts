import {
  ALLOWED_AGGREGATE_FUNCTIONS,
  ALLOWED_SCALAR_FUNCTIONS,
  ALLOWED_TABLE_FUNCTIONS,
  KEYWORD_FUNCTIONS,
  KNOWN_AGGREGATES,
} from './sql-functions';
import { rowRuleIssue } from './sql-rows';

export interface LintIssue {
  /** Stable code, e.g. several_statements, forbidden_function, unknown_column. */
  code: string;
  message: string;
}

export interface TreeCheckOptions {
  dataset: string;
  /** The dataset's columns; unknown (any column passes at the dataset) when not given. */
  datasetColumns?: ReadonlySet<string>;
  /** `row`: a template's row-level SELECT. `wrapper`: the perimeter's aggregation around it. */
  mode: 'row' | 'wrapper';
  /** A subtree checked elsewhere (the template's SELECT inside the wrapper), with its output columns. */
  opaque?: { node: unknown; columns: Columns };
}

export interface TreeCheck {
  issues: LintIssue[];
  parameters: Set<string>;
  /** Output column names of the top-level SELECT; null for an unnamed expression or a star. */
  outputColumns: (string | null)[];
}

/** A relation's column names, in order (null: unnamed); undefined when not known. */
type Columns = (string | null)[] | undefined;
type Node = Record<string, unknown>;
interface Binding {
  name: string;
  columns: Columns;
}
interface Scope {
  ctes: ReadonlyMap<string, Columns>;
  bindings: Binding[];
  aliases: Set<string>;
  outer?: Scope;
}

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;
const nodes = (value: unknown): Node[] => (Array.isArray(value) ? value.filter(isNode) : []);
const lower = (value: unknown) => String(value).toLowerCase();
const isQueryNode = (node: Node) => typeof node.type === 'string' && node.type.endsWith('_NODE');
const isExpression = (node: Node) => typeof node.class === 'string';
const isTableRef = (node: Node) =>
  typeof node.type === 'string' && 'sample' in node && !isQueryNode(node) && !isExpression(node);

function renamed(columns: Columns, aliases: unknown): Columns {
  const names = Array.isArray(aliases) ? aliases.map(lower) : [];
  if (!columns || names.length === 0) return columns;
  return columns.map((column, index) => names[index] ?? column);
}

/**
 * Checks one SELECT's parse tree (json_serialize_sql) by allow-list, with scopes: every query
 * node, table reference and expression kind must be one this walker knows (anything else is
 * refused, so a new DuckDB syntax cannot slip past unchecked); every function is allow-listed;
 * a table is the dataset or a CTE visible at that point (defined earlier in an enclosing WITH);
 * every column resolves to a relation in scope; in row mode nothing aggregates or windows.
 */
export function checkSelectTree(statement: unknown, options: TreeCheckOptions): TreeCheck {
  const issues = new Map<string, LintIssue>();
  const issue = (code: string, message: string) => issues.set(`${code}:${message}`, { code, message });
  const parameters = new Set<string>();
  const visited = new WeakSet<Node>();
  const datasetColumns: Columns = options.datasetColumns && [...options.datasetColumns].map(lower);

  /** Marks a refused subtree as seen, so that it is reported once, not once per child. */
  function skip(value: unknown) {
    if (Array.isArray(value)) for (const item of value) skip(item);
    else if (isNode(value)) {
      visited.add(value);
      for (const child of Object.values(value)) skip(child);
    }
  }

  function unsupported(node: Node, what: string) {
    skip(node);
    issue('unsupported_syntax', `${what} is not allowed in a template`);
  }

  function withCtes(cteMap: unknown, ctes: ReadonlyMap<string, Columns>, outer?: Scope) {
    const visible = new Map(ctes);
    // Each CTE sees only the ones defined before it; the body sees them all.
    for (const entry of isNode(cteMap) ? nodes(cteMap.map) : []) {
      const value = isNode(entry.value) ? entry.value : {};
      const query = isNode(value.query) ? value.query.node : undefined;
      visible.set(lower(entry.key), renamed(queryNode(query, visible, outer, false), value.aliases));
    }
    return visible;
  }

  function queryNode(
    value: unknown,
    ctes: ReadonlyMap<string, Columns>,
    outer: Scope | undefined,
    top: boolean,
  ): Columns {
    if (!isNode(value)) return undefined;
    if (options.opaque && value === options.opaque.node) return options.opaque.columns;
    visited.add(value);
    if (value.type === 'SET_OPERATION_NODE') {
      const visible = withCtes(value.cte_map, ctes, outer);
      const left = queryNode(value.left, visible, outer, top);
      queryNode(value.right, visible, outer, false);
      modifiers(value.modifiers, {
        ctes: visible,
        bindings: [{ name: '', columns: left }],
        aliases: new Set(),
        outer,
      });
      return left;
    }
    if (value.type !== 'SELECT_NODE') {
      unsupported(value, value.type === 'RECURSIVE_CTE_NODE' ? 'a recursive CTE' : String(value.type));
      return undefined;
    }
    const selectList = nodes(value.select_list);
    const scope: Scope = {
      ctes: withCtes(value.cte_map, ctes, outer),
      bindings: [],
      aliases: new Set(selectList.map((item) => lower(item.alias)).filter(Boolean)),
      outer,
    };
    const joinConditions: unknown[] = [];
    tableRef(value.from_table, scope, joinConditions);
    const groups = nodes(value.group_expressions).length > 0 || nodes(value.group_sets).length > 0;
    const grouping = groups || value.having != null || value.aggregate_handling !== 'STANDARD_HANDLING';
    if (options.mode === 'row' && (grouping || value.qualify != null))
      issue(
        'aggregate',
        'GROUP BY, HAVING and QUALIFY are not allowed: the SQL selects rows, the perimeter aggregates',
      );
    if (value.sample != null) issue('unsupported_syntax', 'USING SAMPLE draws rows at random: not allowed');
    for (const expression of [...joinConditions, value.where_clause, ...nodes(value.group_expressions)])
      expr(expression, scope);
    for (const expression of [value.having, value.qualify]) expr(expression, scope);
    modifiers(value.modifiers, scope);
    const outputs: (string | null)[] = [];
    let outputsKnown = true;
    for (const item of selectList) {
      if (item.class === 'STAR') {
        visited.add(item);
        const expanded = star(item, scope);
        // The template's own output must name its columns: a star there is reported unnamed.
        if (top) outputs.push(null);
        else if (expanded) outputs.push(...expanded);
        else outputsKnown = false;
        continue;
      }
      expr(item, scope);
      const alias = lower(item.alias ?? '');
      if (alias) outputs.push(alias);
      else if (item.class === 'COLUMN_REF' && Array.isArray(item.column_names))
        outputs.push(lower(item.column_names.at(-1)));
      else outputs.push(null);
    }
    return outputsKnown ? outputs : undefined;
  }

  function star(item: Node, scope: Scope): Columns {
    if (item.columns === true || isNode(item.expr)) {
      unsupported(item, 'COLUMNS(...)');
      return undefined;
    }
    const lists = [item.exclude_list, item.replace_list, item.rename_list, item.qualified_exclude_list];
    if (lists.some((list) => Array.isArray(list) && list.length > 0)) return undefined;
    const relation = lower(item.relation_name ?? '');
    const sources = relation ? scope.bindings.filter((b) => b.name === relation) : scope.bindings;
    if (relation && sources.length === 0) issue('unknown_table', `${relation}.* names no table in its FROM`);
    const columns: (string | null)[] = [];
    for (const source of sources) {
      if (!source.columns) return undefined;
      columns.push(...source.columns);
    }
    return columns;
  }

  function modifiers(list: unknown, scope: Scope) {
    for (const modifier of nodes(list)) {
      for (const order of nodes(modifier.orders)) expr(order.expression, scope);
      for (const key of ['limit', 'offset']) expr(modifier[key], scope);
      for (const target of nodes(modifier.distinct_on_targets)) expr(target, scope);
    }
  }

  function tableRef(value: unknown, scope: Scope, joinConditions: unknown[]) {
    if (!isNode(value)) return;
    visited.add(value);
    if (value.sample != null) issue('unsupported_syntax', 'TABLESAMPLE draws rows at random: not allowed');
    const alias = lower(value.alias ?? '');
    switch (value.type) {
      case 'EMPTY':
        return;
      case 'BASE_TABLE': {
        const name = lower(value.table_name);
        if (value.schema_name || value.catalog_name) {
          const qualified = [value.catalog_name, value.schema_name, value.table_name].filter(Boolean);
          issue('qualified_table', `${qualified.join('.')}: only the dataset's own table, unqualified`);
        }
        skip(value.at_clause);
        if (value.at_clause != null)
          issue('unsupported_syntax', `${name} AT (...): time travel is not allowed`);
        let columns: Columns;
        if (scope.ctes.has(name)) columns = scope.ctes.get(name);
        else if (name === options.dataset) columns = datasetColumns;
        else
          issue(
            'unknown_table',
            `table ${String(value.table_name)} is not the template's dataset (${options.dataset}) nor a CTE defined before it`,
          );
        scope.bindings.push({ name: alias || name, columns: renamed(columns, value.column_name_alias) });
        return;
      }
      case 'SUBQUERY': {
        const subquery = isNode(value.subquery) ? value.subquery.node : undefined;
        const columns = queryNode(subquery, scope.ctes, scope, false);
        scope.bindings.push({ name: alias, columns: renamed(columns, value.column_name_alias) });
        return;
      }
      case 'JOIN':
        tableRef(value.left, scope, joinConditions);
        tableRef(value.right, scope, joinConditions);
        joinConditions.push(value.condition);
        return;
      case 'TABLE_FUNCTION': {
        const call = isNode(value.function) ? value.function : {};
        visited.add(call);
        const name = lower(call.function_name);
        if (!ALLOWED_TABLE_FUNCTIONS.has(name) || call.schema || call.catalog)
          issue('forbidden_function', `table function ${String(call.function_name)}() is not allowed`);
        for (const argument of nodes(call.children)) expr(argument, scope);
        scope.bindings.push({ name: alias || name, columns: renamed([name], value.column_name_alias) });
        return;
      }
      case 'EXPRESSION_LIST':
        for (const row of Array.isArray(value.values) ? value.values : [])
          for (const item of nodes(row)) expr(item, scope);
        scope.bindings.push({ name: alias, columns: undefined });
        return;
      case 'SHOW_REF':
        skip(value);
        issue('not_a_select', `${String(value.show_type)} is not a plain SELECT: only a SELECT is allowed`);
        return;
      default:
        unsupported(value, `FROM ${String(value.type)}`);
    }
  }

  function func(node: Node, scope: Scope) {
    const name = lower(node.function_name);
    const qualified = (node.schema && node.schema !== 'main') || node.catalog;
    const aggregate = KNOWN_AGGREGATES.has(name);
    if (aggregate && options.mode === 'row')
      issue('aggregate', `${name}() aggregates: the SQL selects rows, the perimeter aggregates`);
    else if (aggregate ? !ALLOWED_AGGREGATE_FUNCTIONS.has(name) : !ALLOWED_SCALAR_FUNCTIONS.has(name))
      issue('forbidden_function', `${name}() is not on the allow-list of functions`);
    else if (qualified) issue('forbidden_function', `${name}(): call functions unqualified`);
    for (const child of nodes(node.children)) expr(child, scope);
    expr(node.filter, scope);
    if (isNode(node.order_bys)) {
      visited.add(node.order_bys);
      for (const order of nodes(node.order_bys.orders)) expr(order.expression, scope);
    }
  }

  function column(names: string[], scope: Scope) {
    const [first, second] = names;
    for (let current: Scope | undefined = scope; current; current = current.outer) {
      if (names.length === 1) {
        if (current.aliases.has(first!)) return;
        if (current.bindings.some((b) => b.columns?.includes(first!))) return;
        if (KEYWORD_FUNCTIONS.has(first!)) continue;
        if (current.bindings.some((b) => !b.columns)) return;
      } else if (names.length === 2) {
        const binding = current.bindings.find((b) => b.name === first);
        if (binding) {
          if (!binding.columns || binding.columns.includes(second!)) return;
          break;
        }
      }
    }
    if (names.length === 1 && KEYWORD_FUNCTIONS.has(first!)) {
      issue('forbidden_function', `${first} depends on when or where the query runs: not allowed`);
      return;
    }
    issue(
      'unknown_column',
      `column ${names.join('.')} is not in dataset ${options.dataset} nor made by the SQL before it is used`,
    );
  }

  const allowedOperators = new Set([
    'OPERATOR_NOT',
    'OPERATOR_IS_NULL',
    'OPERATOR_IS_NOT_NULL',
    'COMPARE_IN',
    'COMPARE_NOT_IN',
    'OPERATOR_COALESCE',
    'OPERATOR_TRY', // TRY(expr): NULL where expr would raise on a row's value
  ]);

  function expr(value: unknown, scope: Scope): void {
    if (!isNode(value)) return;
    visited.add(value);
    switch (value.class) {
      case 'CONSTANT':
        return;
      case 'PARAMETER':
        parameters.add(String(value.identifier));
        return;
      case 'COLUMN_REF':
        column(Array.isArray(value.column_names) ? value.column_names.map(lower) : [], scope);
        return;
      case 'FUNCTION':
        func(value, scope);
        return;
      case 'WINDOW': {
        skip(value);
        const refused = rowRuleIssue('window', `${lower(value.function_name)}() OVER (...)`);
        issue(refused.code, refused.message);
        return;
      }
      case 'OPERATOR':
        if (!allowedOperators.has(String(value.type)))
          unsupported(value, `the ${String(value.type)} operator`);
        for (const child of nodes(value.children)) expr(child, scope);
        return;
      case 'COMPARISON':
        expr(value.left, scope);
        expr(value.right, scope);
        return;
      case 'CONJUNCTION':
        for (const child of nodes(value.children)) expr(child, scope);
        return;
      case 'CASE':
        for (const check of nodes(value.case_checks)) {
          expr(check.when_expr, scope);
          expr(check.then_expr, scope);
        }
        expr(value.else_expr, scope);
        return;
      case 'CAST':
      case 'COLLATE':
        expr(value.child, scope);
        return;
      case 'BETWEEN':
        for (const key of ['input', 'lower', 'upper']) expr(value[key], scope);
        return;
      case 'SUBQUERY':
        queryNode(isNode(value.subquery) ? value.subquery.node : undefined, scope.ctes, scope, false);
        expr(value.child, scope);
        return;
      default:
        unsupported(value, `${String(value.class)} expression`);
    }
  }

  const node = isNode(statement) ? statement : {};
  const outputColumns = queryNode(node, new Map(), undefined, true) ?? [];
  // Whatever the walk above did not reach is something it does not understand: refuse it.
  const pending: unknown[] = [node];
  while (pending.length > 0) {
    const value = pending.pop();
    if (Array.isArray(value)) pending.push(...(value as unknown[]));
    else if (isNode(value)) {
      if (value === options.opaque?.node) continue;
      if ((isQueryNode(value) || isExpression(value) || isTableRef(value)) && !visited.has(value))
        issue('unsupported_syntax', `${String(value.class ?? value.type)} is not allowed here`);
      pending.push(...Object.values(value));
    }
  }
  return { issues: [...issues.values()], parameters, outputColumns };
}
