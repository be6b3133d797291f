import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { SingleBar, Presets } from 'cli-progress';
import { CliError } from '../common';
import { readWorkspace, writePerimeterDatasets } from './workspace';

const TABLE = /^[a-z_][a-z0-9_]{0,62}$/;
const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** DuckDB's own readers: a CSV's types are sniffed, a Parquet file's are its own. */
function readerFor(file: string): string {
  switch (extname(file).toLowerCase()) {
    case '.csv':
    case '.tsv':
    case '.gz':
      return `read_csv_auto(${sqlString(file)})`;
    case '.parquet':
      return `read_parquet(${sqlString(file)})`;
    default:
      throw new CliError(`${file}: import reads .csv or .parquet files`);
  }
}

/** Runs a statement while a progress bar on stderr follows DuckDB's own query progress. */
async function runWithProgress(connection: DuckDBConnection, sql: string, label: string): Promise<void> {
  const bar = new SingleBar(
    { format: `${label} [{bar}] {percentage}%`, stream: process.stderr, hideCursor: true },
    Presets.legacy,
  );
  bar.start(100, 0);
  const timer = setInterval(() => {
    const { percentage } = connection.progress;
    if (percentage >= 0) bar.update(Math.floor(percentage));
  }, 100);
  try {
    await connection.run(sql);
    bar.update(100);
  } finally {
    clearInterval(timer);
    bar.stop();
  }
}

export interface ImportOptions {
  table: string;
  seller: string;
  home?: string;
  replace?: boolean;
}

/**
 * Loads a CSV or Parquet file into the seller's DuckDB file as one table, in one transaction: an
 * existing table is replaced only with --replace, and a failed import leaves the file as it was.
 */
export async function importTable(file: string, options: ImportOptions): Promise<void> {
  if (!TABLE.test(options.table))
    throw new CliError(`--table takes a lower-case SQL name (letters, digits, _), got ${options.table}`);
  const source = resolve(file);
  if (!existsSync(source)) throw new CliError(`${source} does not exist`);
  const workspace = await readWorkspace(options);
  const instance = await DuckDBInstance.create(workspace.database);
  const connection = await instance.connect();
  try {
    const existing = await connection.runAndReadAll(
      `SELECT count(*) FROM information_schema.tables WHERE table_name = ${sqlString(options.table)}`,
    );
    if (Number(existing.getRows()[0]?.[0]) > 0 && !options.replace)
      throw new CliError(
        `table ${options.table} exists in ${workspace.database}; pass --replace to load it again`,
      );
    await connection.run('PRAGMA enable_progress_bar; SET enable_progress_bar_print = false');
    await connection.run('BEGIN TRANSACTION');
    try {
      await runWithProgress(
        connection,
        `CREATE OR REPLACE TABLE "${options.table}" AS SELECT * FROM ${readerFor(source)}`,
        `importing ${options.table}`,
      );
      await connection.run('COMMIT');
    } catch (error) {
      await connection.run('ROLLBACK');
      if (error instanceof CliError) throw error;
      throw new CliError(`cannot import ${source}: ${(error as Error).message}`, 1);
    }
    const count = await connection.runAndReadAll(`SELECT count(*) FROM "${options.table}"`);
    const columns = await connection.runAndReadAll(`DESCRIBE "${options.table}"`);
    console.log(
      `${options.table}: ${Number(count.getRows()[0]?.[0]).toLocaleString('en')} rows in ${workspace.database}\n` +
        columns
          .getRowObjectsJson()
          .map((c) => `  ${c.column_name as string} ${c.column_type as string}`)
          .join('\n'),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await writePerimeterDatasets(workspace, options.table);
}
