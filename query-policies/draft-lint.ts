import { DuckDBInstance } from '@duckdb/node-api';
import { lintTemplateSql, type LintIssue } from './sql-lint';
import type { QueryTemplate } from './template';

/**
 * The perimeter's own lint, on an empty in-memory DuckDB: every rule that needs no dataset. The
 * proposer's CLI runs it before sealing a draft (nobody else sees the draft before the perimeter).
 * The dataset's columns are checked by the perimeter's preview, against the seller's declared ones.
 */
export async function lintDraft(template: QueryTemplate): Promise<LintIssue[]> {
  const instance = await DuckDBInstance.create(':memory:', { enable_external_access: 'false' });
  try {
    const connection = await instance.connect();
    try {
      return await lintTemplateSql(connection, template);
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}
