import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { DealProblem } from './deal/shapes';
import type { RefusalStatement } from '../lib/refusal-statement';

/** The code and reason a failed activity carries, safe to show: activities never put data in errors. */
export function problemOf(error: unknown): DealProblem {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure)
    return { code: cause.type ?? 'ActivityFailed', reason: cause.message };
  return { code: 'ActivityFailed', reason: cause instanceof Error ? cause.message : 'unknown failure' };
}

/**
 * The perimeter's signed refusal a failed query carries in its details, passed on as it is: settlement
 * checks it (activities/settlement/refund-proof.ts), so the workflow only picks it out by its type.
 */
export function refusalCarriedBy(error: unknown): RefusalStatement | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  return cause.details?.find(
    (detail): detail is RefusalStatement =>
      (detail as { body?: { type?: unknown } } | null)?.body?.type === 'tusk.refusal/v1',
  );
}
