import type { DuckDBConnection } from '@duckdb/node-api';
import { footprintOf, type SqlFootprint } from './sql-tree';
import type { QueryTemplate } from './template';

/** Table functions a template may use: they generate rows, they read nothing. */
const ALLOWED_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);

/** Functions that read files, the network, settings or the catalog, run SQL, or load extensions. */
const FORBIDDEN_FUNCTION =
  /^(read_|glob$|query$|query_table$|sniff_csv$|parquet_|iceberg_|delta_|.*_scan$|http|s3|load_|install_|getenv$|current_setting$|duckdb_|pragma_|which_secret$|sql_auto_complete$|json_execute_serialized_sql$|checkpoint$|force_checkpoint$|enable_|disable_|set_|system$|shell$|file$|fs_|list_files$|current_database$|current_schema)/;

export interface LintIssue {
  /** Stable code, e.g. several_statements, forbidden_function, unknown_column. */
  code: string;
  message: string;
}

/** DuckDB's parse tree of one SQL text; a parse error becomes a lint issue, never an exception. */
export async function parseSql(
  connection: DuckDBConnection,
  sql: string,
): Promise<{ tree?: { statements?: { node: unknown }[] }; error?: string }> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const tree = reader.getRowObjectsJS()[0]?.tree;
  const json = JSON.parse(typeof tree === 'string' ? tree : '{"error":true}') as {
    error: boolean;
    error_message?: string;
    statements?: { node: unknown }[];
  };
  return json.error ? { error: json.error_message ?? 'the SQL does not parse' } : { tree: json };
}

/**
 * Checks a template's SQL against the template and, when known, the dataset's columns: exactly
 * one SELECT; only the dataset's table; no function that reads files, the network, settings or
 * extensions; every parameter declared and every declared one used; the output names the privacy
 * unit, the dimensions and every metric's column. The perimeter runs this before any query.
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
  return checkFootprint(template, footprintOf(parsed.tree!), datasetColumns);
}

export function checkFootprint(
  template: QueryTemplate,
  footprint: SqlFootprint,
  datasetColumns?: Set<string>,
): LintIssue[] {
  const issues: LintIssue[] = [];
  const issue = (code: string, message: string) => issues.push({ code, message });
  for (const table of footprint.qualifiedTables)
    issue('qualified_table', `${table}: only the dataset's own table, unqualified`);
  for (const table of footprint.tables) {
    if (table !== template.dataset && !footprint.cteNames.has(table)) {
      issue('unknown_table', `table ${table} is not the template's dataset (${template.dataset})`);
    }
  }
  for (const name of footprint.tableFunctions) {
    if (!ALLOWED_TABLE_FUNCTIONS.has(name.toLowerCase()))
      issue('forbidden_function', `table function ${name}() is not allowed`);
  }
  for (const name of footprint.functions) {
    if (FORBIDDEN_FUNCTION.test(name.toLowerCase()) && !ALLOWED_TABLE_FUNCTIONS.has(name.toLowerCase())) {
      issue('forbidden_function', `${name}() reads outside the dataset or changes the session`);
    }
  }
  const declared = new Set(Object.keys(template.parameters));
  for (const name of footprint.parameters) {
    if (!declared.has(name)) issue('undeclared_parameter', `$${name} is used but not declared`);
  }
  for (const name of declared)
    if (!footprint.parameters.has(name))
      issue('unused_parameter', `parameter ${name} is declared but never used`);
  if (footprint.outputColumns.includes(null)) issue('unnamed_output', 'name every output column (AS name)');
  const outputs = new Set(footprint.outputColumns.filter((name): name is string => name !== null));
  const needed = [
    template.privacyUnit,
    ...template.dimensions,
    ...template.metrics.flatMap((metric) => (metric.aggregate === 'count_units' ? [] : [metric.column])),
  ];
  for (const column of needed)
    if (!outputs.has(column)) issue('missing_output', `the SELECT must output ${column}`);
  if (datasetColumns) {
    const known = new Set([...datasetColumns, ...outputs, 'range', 'generate_series', 'unnest']);
    for (const column of footprint.columns)
      if (!known.has(column))
        issue('unknown_column', `column ${column} is not in dataset ${template.dataset}`);
  }
  return issues;
}
