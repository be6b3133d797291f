import { Context, log } from '@temporalio/activity';
import type { ParameterValues, QueryTemplate } from '../../query-policies/template';
import { boundParameters } from './bound-parameters';
import { QueryTimeoutError, runWithTimeout } from './query-runner';
import { refuse } from './refusal';
import type { SandboxPool } from './sandbox-pool';

/** DuckDB's messages can quote values from the data: only their class leaves the perimeter. */
function errorClass(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  return /^([A-Za-z ]+ Error):/.exec(message)?.[1] ?? 'Error';
}

/**
 * Runs a perimeter-built statement in the dataset's sandbox, from inside an activity: heartbeats
 * while it runs, stops at the timeout or on cancellation, and turns DuckDB errors into refusals
 * that name only the error's class. Parameters are bound as typed values, never spliced.
 */
export async function runInSandbox(
  sandboxes: SandboxPool,
  template: Pick<QueryTemplate, 'dataset' | 'parameters'>,
  sql: string,
  parameters: ParameterValues,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const context = Context.current();
  try {
    return await sandboxes.withConnection(template.dataset, (connection) =>
      runWithTimeout(connection, sql, boundParameters(template, parameters), {
        timeoutMs,
        onTick: () => context.heartbeat(),
        signal: context.cancellationSignal,
      }),
    );
  } catch (error) {
    if (error instanceof QueryTimeoutError) refuse('QueryTimeout', error.message);
    log.warn('approved query failed', { errorClass: errorClass(error) });
    refuse('QueryFailed', `the query failed inside the perimeter (${errorClass(error)})`);
  }
}
