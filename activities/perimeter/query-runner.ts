import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';

export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError';
}

export interface RunQueryOptions {
  timeoutMs: number;
  /** Called every second while the query runs, so a dead worker is noticed by its missing heartbeats. */
  onTick?: () => void;
  /** Aborting interrupts the query (activity cancellation). */
  signal?: AbortSignal;
}

/** Runs one statement with bound parameters; DuckDB has no statement timeout, so interrupt() is the timeout. */
export async function runWithTimeout(
  connection: DuckDBConnection,
  sql: string,
  values: Record<string, DuckDBValue>,
  options: RunQueryOptions,
): Promise<Record<string, unknown>[]> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.interrupt();
  }, options.timeoutMs);
  const ticker = setInterval(() => options.onTick?.(), 1000);
  const onAbort = () => connection.interrupt();
  options.signal?.addEventListener('abort', onAbort);
  try {
    const reader = await connection.runAndReadAll(sql, values);
    return reader.getRowObjectsJS();
  } catch (error) {
    if (timedOut)
      throw new QueryTimeoutError(`the query ran longer than ${options.timeoutMs} ms and was stopped`);
    throw error;
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
