import type { DuckDBConnection } from '@duckdb/node-api';

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;
const nodes = (value: unknown): Node[] => (Array.isArray(value) ? value.filter(isNode) : []);

/**
 * TRY(expr): DuckDB 1.5 evaluates expr and, on a row where it raises (a failed cast, ln(0),
 * sqrt(-1), integer overflow, strptime on bad text, an implicit cast in a comparison), yields NULL
 * for that row instead of failing the query. An expression already under TRY is left as it is.
 */
function tryOf(expression: Node, alias: string): Node {
  if (expression.type === 'OPERATOR_TRY') return { ...expression, alias };
  return {
    class: 'OPERATOR',
    type: 'OPERATOR_TRY',
    alias,
    query_location: 0,
    children: [{ ...expression, alias: '' }],
  };
}

/** The name DuckDB gives an output column: its alias, or a column reference's own name. */
function outputName(item: Node): string {
  if (typeof item.alias === 'string' && item.alias !== '') return item.alias;
  if (item.class === 'COLUMN_REF' && Array.isArray(item.column_names))
    return String(item.column_names.at(-1));
  return '';
}

function totalSelectList(list: unknown): Node[] {
  return nodes(list).map((item) => {
    if (item.class !== 'STAR') return tryOf(item, outputName(item));
    // SELECT * REPLACE (expr AS column): the replacing expressions are computed per row too.
    const replaced = nodes(item.replace_list).map((entry) => ({
      ...entry,
      value: isNode(entry.value) ? tryOf(entry.value, '') : entry.value,
    }));
    return { ...item, replace_list: replaced };
  });
}

/** Rewrites in place every SELECT reachable from value: outputs, WHERE and join conditions under TRY. */
function makeTotal(value: unknown): void {
  if (Array.isArray(value)) return value.forEach(makeTotal);
  if (!isNode(value)) return;
  if ('query_location' in value) value.query_location = 0; // uint64 max does not survive JSON.parse
  if (value.type === 'SELECT_NODE') {
    value.select_list = totalSelectList(value.select_list);
    if (isNode(value.where_clause)) value.where_clause = tryOf(value.where_clause, '');
  }
  if (value.type === 'JOIN' && isNode(value.condition)) value.condition = tryOf(value.condition, '');
  for (const child of Object.values(value)) makeTotal(child);
}

/** Parse trees compare equal when they differ only in where in the text each node stood. */
export const treeShape = (value: unknown) =>
  JSON.stringify(value, (key, item: unknown) => (key === 'query_location' ? undefined : item));

async function serialized(connection: DuckDBConnection, sql: string): Promise<Node> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const tree = reader.getRowObjectsJS()[0]?.tree;
  return JSON.parse(typeof tree === 'string' ? tree : '{"error":true}') as Node;
}

export type TotalSql = { sql: string; node: unknown } | { error: string };

/**
 * The template's SELECT made total: every row expression it computes (each output, each WHERE,
 * each join condition, in every CTE and subquery) under TRY, so no value in the data can make the
 * query raise; a bad value becomes NULL and the row drops out of whatever needs it (a NULL WHERE
 * keeps no row, a NULL privacy unit is in no answer, a NULL metric adds nothing). Built on DuckDB's
 * own tree (json_serialize_sql, then json_deserialize_sql back to text), and checked by parsing the
 * text again: it must give exactly the rewritten tree, or nothing is run.
 */
export async function totalSql(connection: DuckDBConnection, sql: string): Promise<TotalSql> {
  const parsed = await serialized(connection, sql);
  const [statement] = nodes(parsed.statements);
  if (parsed.error || !statement || nodes(parsed.statements).length !== 1)
    return { error: 'the SQL does not parse to one statement' };
  makeTotal(statement.node);
  const reader = await connection
    .runAndReadAll('SELECT json_deserialize_sql($tree::JSON) AS sql', { tree: JSON.stringify(parsed) })
    .catch(() => undefined);
  const text = reader?.getRowObjectsJS()[0]?.sql;
  if (typeof text !== 'string') return { error: 'DuckDB cannot write the rewritten tree back as SQL' };
  const again = await serialized(connection, text);
  const [reparsed] = nodes(again.statements);
  if (again.error || !reparsed || treeShape(reparsed.node) !== treeShape(statement.node))
    return { error: 'the rewritten SQL does not parse back to the rewritten tree' };
  return { sql: text, node: reparsed.node };
}
