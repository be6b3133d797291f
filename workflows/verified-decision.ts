import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CoordinatorActivities } from '../activities/coordinator/activities';
import { coordinatorCheck } from './activity-options';
import type { Voter } from './approvals';

/**
 * The coordinator's verdict on a signed decision: the principal is a registered compliance party
 * and signed exactly this decision on this workflow. Whatever reaches Temporal, only a verified
 * voter is counted; a refusal rejects the update with the coordinator's reason.
 */
export async function verifiedVoter(principal: string, decision: unknown, signature: string): Promise<Voter> {
  const coordinator = proxyActivities<CoordinatorActivities>({
    taskQueue: 'coordinator',
    ...coordinatorCheck,
  });
  try {
    return await coordinator.verifyDecision({
      workflowId: workflowInfo().workflowId,
      principal,
      role: 'compliance',
      decision,
      signature,
    });
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure) throw ApplicationFailure.nonRetryable(cause.message, cause.type);
    throw ApplicationFailure.nonRetryable('the decision could not be verified now', 'DecisionUnverified');
  }
}

/**
 * Applies a state change inside an update handler: a rule it breaks (say, a second decision by the
 * same key that arrived while the first was being verified) rejects the update, not the workflow.
 */
export function asRefusal<T>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    throw ApplicationFailure.nonRetryable(
      error instanceof Error ? error.message : String(error),
      'DecisionRefused',
    );
  }
}
