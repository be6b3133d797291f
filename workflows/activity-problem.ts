import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { DealProblem } from './deal/shapes';

/** The code and reason a failed activity carries, safe to show: activities never put data in errors. */
export function problemOf(error: unknown): DealProblem {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure)
    return { code: cause.type ?? 'ActivityFailed', reason: cause.message };
  return { code: 'ActivityFailed', reason: cause instanceof Error ? cause.message : 'unknown failure' };
}
