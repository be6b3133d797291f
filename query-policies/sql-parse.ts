import type { DuckDBConnection } from '@duckdb/node-api';

export interface ParsedSql {
  statements?: { node: unknown }[];
  error?: string;
}

/** DuckDB's parse tree of one SQL text; a parse error is returned, never thrown. */
export async function parseSql(connection: DuckDBConnection, sql: string): Promise<ParsedSql> {
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  const tree = reader.getRowObjectsJS()[0]?.tree;
  const json = JSON.parse(typeof tree === 'string' ? tree : '{"error":true}') as {
    error: boolean;
    error_message?: string;
    statements?: { node: unknown }[];
  };
  return json.error
    ? { error: json.error_message ?? 'the SQL does not parse' }
    : { statements: json.statements ?? [] };
}
