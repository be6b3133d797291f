import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { ParameterValues, QueryTemplate } from '../../query-policies/template';
import { boundParameters } from './bound-parameters';
import { QueryTimeoutError, runWithTimeout } from './query-runner';
import { refuse } from './refusal';
import type { SandboxPool } from './sandbox-pool';

/** DuckDB's messages can quote values from the data: only their class is logged, inside the perimeter. */
function errorClass(error: unknown): string {
  if (error instanceof QueryTimeoutError) return 'Timeout';
  const message = error instanceof Error ? error.message : '';
  return /^([A-Za-z ]+ Error):/.exec(message)?.[1] ?? 'Error';
}

/** The one message of QueryFailedAfterReservation: the same text for every cause. */
export const QUERY_FAILED_MESSAGE = 'the query did not complete inside the perimeter';

/** True for the uniform refusal of a query that failed after its reservation (see runInSandbox). */
export const isQueryFailedAfterReservation = (error: unknown): boolean =>
  error instanceof ApplicationFailure && error.type === 'QueryFailedAfterReservation';

/** Waits, heartbeating, until `until` (epoch ms), or until the activity is cancelled. */
async function holdUntil(until: number, context: Context): Promise<void> {
  while (Date.now() < until && !context.cancellationSignal.aborted) {
    context.heartbeat();
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, until - Date.now())));
  }
}

/**
 * Runs a perimeter-built statement in the dataset's sandbox, from inside an activity: heartbeats
 * while it runs, stops at the timeout or on cancellation. Parameters are bound as typed values,
 * never spliced. Every statement run here runs after the deal's privacy reservation (or a
 * milestone's charge), so a failure here may depend on the data: whatever the cause (DuckDB error,
 * memory limit, timeout), the answer is ONE refusal, QueryFailedAfterReservation, with one fixed
 * message, given no earlier than the timeout would be, so that neither its text nor its timing
 * says which cause it was. The expressions are total (query-policies/sql-total.ts): this is the
 * second line, for what TRY cannot catch (resources).
 *
 * The ledger charges a deal refused with QueryFailedAfterReservation its full cost, never releases
 * it: the refusal is itself an answer that depends on the data (PRIVACY.md, "Errors"; the ledger's
 * `startRun` / `chargeFailure`, called by `releaseFor` in activities.ts).
 */
export async function runInSandbox(
  sandboxes: SandboxPool,
  template: Pick<QueryTemplate, 'dataset' | 'parameters'>,
  sql: string,
  parameters: ParameterValues,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const context = Context.current();
  const started = Date.now();
  try {
    return await sandboxes.withConnection(template.dataset, (connection) =>
      runWithTimeout(connection, sql, boundParameters(template, parameters), {
        timeoutMs,
        onTick: () => context.heartbeat(),
        signal: context.cancellationSignal,
      }),
    );
  } catch (error) {
    log.warn('approved query failed', { errorClass: errorClass(error) });
    await holdUntil(started + timeoutMs, context);
    refuse('QueryFailedAfterReservation', QUERY_FAILED_MESSAGE);
  }
}
