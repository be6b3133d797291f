import { DuckDBInstance } from '@duckdb/node-api';
import { canonicalHash } from '../../lib/canonical-json';
import type { ColumnDomain, DeclaredColumns } from '../../query-policies/column-domains';

/** Rows of every twin: enough for typical group sizes, small enough to build in milliseconds. */
export const TWIN_ROWS = 5_000;

const quote = (name: string) => `"${name}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
/** A uniform draw in [0, 1) from the row number and the column's name: nothing else goes in. */
const uniform = (column: string) => `((hash(i, ${literal(`twin:${column}`)}) % 1000000) / 1000000.0)`;

function columnType(domain: ColumnDomain): string {
  switch (domain.type) {
    case 'integer':
      return 'BIGINT';
    case 'decimal':
      return `DECIMAL(18, ${domain.scale})`;
    case 'enum':
      return 'VARCHAR';
    case 'date':
      return 'DATE';
  }
}

function columnValue(name: string, domain: ColumnDomain): string {
  const u = uniform(name);
  switch (domain.type) {
    case 'integer':
      return `(${domain.min} + floor(${u} * ${domain.max - domain.min + 1}))::BIGINT`;
    case 'decimal':
      return `round(${domain.min} + ${u} * ${domain.max - domain.min}, ${domain.scale})::DECIMAL(18, ${domain.scale})`;
    case 'enum':
      return `[${domain.values.map(literal).join(', ')}][1 + floor(${u} * ${domain.values.length})::INTEGER]`;
    case 'date':
      return `DATE ${literal(domain.min)} + floor(${u} * (DATE ${literal(domain.max)} - DATE ${literal(domain.min)} + 1))::INTEGER`;
  }
}

export interface SyntheticTwin {
  instance: DuckDBInstance;
  rows: number;
  /** The hash of the declared domains: the twin is a function of these alone. */
  domainsHash: string;
}

/**
 * A dataset's synthetic twin: an in-memory table of the dataset's name with the declared columns,
 * each value drawn from its declared domain by a hash of the row number and the column name. No row,
 * count or statistic of the real dataset goes in, so anything computed on it is the same for every
 * dataset with these declarations (PRIVACY.md, "Template proposals").
 */
export async function buildSyntheticTwin(dataset: string, columns: DeclaredColumns): Promise<SyntheticTwin> {
  const instance = await DuckDBInstance.create(':memory:', {
    enable_external_access: 'false',
    autoload_known_extensions: 'false',
    autoinstall_known_extensions: 'false',
  });
  try {
    const connection = await instance.connect();
    try {
      const entries = Object.entries(columns);
      await connection.run(
        `CREATE TABLE ${quote(dataset)} (${entries.map(([name, d]) => `${quote(name)} ${columnType(d)}`).join(', ')})`,
      );
      await connection.run(
        `INSERT INTO ${quote(dataset)} SELECT ${entries.map(([name, d]) => `${columnValue(name, d)} AS ${quote(name)}`).join(', ')} FROM range(${TWIN_ROWS}) t(i)`,
      );
    } finally {
      connection.closeSync();
    }
  } catch (error) {
    instance.closeSync();
    throw error;
  }
  return { instance, rows: TWIN_ROWS, domainsHash: canonicalHash(columns) };
}
