/** What a template's SELECT touches, read from DuckDB's own parse tree (json_serialize_sql). */
export interface SqlFootprint {
  statementCount: number;
  tables: Set<string>;
  cteNames: Set<string>;
  tableFunctions: Set<string>;
  functions: Set<string>;
  parameters: Set<string>;
  /** Column references, by their last name part (p.person_id → person_id). */
  columns: Set<string>;
  /** Output column names of the top-level SELECT; null for an unnamed expression. */
  outputColumns: (string | null)[];
  /** Anything that reaches outside the query's own tables (a catalog or schema other than the default). */
  qualifiedTables: string[];
}

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;

function walk(value: unknown, visit: (node: Node) => void): void {
  if (Array.isArray(value)) for (const item of value) walk(item, visit);
  else if (isNode(value)) {
    visit(value);
    for (const child of Object.values(value)) walk(child, visit);
  }
}

function outputName(item: Node): string | null {
  if (typeof item.alias === 'string' && item.alias !== '') return item.alias;
  if (item.class === 'COLUMN_REF' && Array.isArray(item.column_names))
    return String(item.column_names.at(-1));
  return null;
}

function topSelectList(node: unknown): Node[] {
  if (!isNode(node)) return [];
  if (node.type === 'SET_OPERATION_NODE') return topSelectList(node.left);
  return Array.isArray(node.select_list) ? node.select_list.filter(isNode) : [];
}

export function footprintOf(tree: { statements?: { node: unknown }[] }): SqlFootprint {
  const footprint: SqlFootprint = {
    statementCount: tree.statements?.length ?? 0,
    tables: new Set(),
    cteNames: new Set(),
    tableFunctions: new Set(),
    functions: new Set(),
    parameters: new Set(),
    columns: new Set(),
    outputColumns: topSelectList(tree.statements?.[0]?.node).map(outputName),
    qualifiedTables: [],
  };
  walk(tree.statements, (node) => {
    if (node.type === 'BASE_TABLE') {
      footprint.tables.add(String(node.table_name));
      if (node.schema_name || node.catalog_name) {
        footprint.qualifiedTables.push(
          [node.catalog_name, node.schema_name, node.table_name].filter(Boolean).join('.'),
        );
      }
    }
    if (node.type === 'TABLE_FUNCTION' && isNode(node.function))
      footprint.tableFunctions.add(String(node.function.function_name));
    if (node.class === 'FUNCTION') footprint.functions.add(String(node.function_name));
    if (node.class === 'PARAMETER') footprint.parameters.add(String(node.identifier));
    if (node.class === 'COLUMN_REF' && Array.isArray(node.column_names))
      footprint.columns.add(String(node.column_names.at(-1)));
    if (isNode(node.cte_map) && Array.isArray(node.cte_map.map)) {
      for (const cte of node.cte_map.map)
        if (isNode(cte) && typeof cte.key === 'string') footprint.cteNames.add(cte.key);
    }
  });
  return footprint;
}
