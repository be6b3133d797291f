import type { LintIssue } from './sql-tree';

/** How to fix each kind of lint problem (the row-independence rules say it in their own message). */
export function lintFix(issue: LintIssue, columns?: readonly string[]): string {
  switch (issue.code) {
    case 'unknown_column':
      return columns
        ? `name only the dataset's declared columns: ${columns.join(', ')}`
        : "name only the dataset's columns";
    case 'forbidden_function':
      return 'use a function of the allow-list (query-policies/sql-functions.ts)';
    case 'aggregate':
      return 'select rows only; declare the aggregate as a metric (count_units, sum or avg)';
    case 'undeclared_parameter':
      return 'declare the parameter under "parameters" with its type and bounds';
    case 'unused_parameter':
      return 'use the parameter in the SQL, or remove it';
    case 'missing_output':
    case 'unnamed_output':
      return 'output the privacy unit, every dimension and every metric column, each named';
    default:
      return issue.message.includes('Rewrite:')
        ? 'rewrite as the message says'
        : 'write one row-level SELECT of the dataset (see `tusk template lint`)';
  }
}
