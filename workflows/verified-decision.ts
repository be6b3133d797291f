import { ActivityFailure, ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import {
  decisionMismatch,
  type DecisionScope,
  type ExpectedDecision,
  type SignedDecision,
} from '../lib/decision-statement';
import type { PartyRole } from '../lib/parties';
import type { SignedTerms } from '../lib/signed-terms';
import { coordinatorCheck } from './activity-options';
import type { Voter } from './approvals';
import { isRefusalType, refusal, type RefusalType } from './refusals';
import { coordinatorActivities } from './activity-proxies';

const coordinator = () => coordinatorActivities(coordinatorCheck);

/** This run's scope: its own workflow id and run id, and the subject it decides about. */
export function scopeOf(subject: DecisionScope['subject']): DecisionScope {
  const { workflowId, runId } = workflowInfo();
  return { workflowId, runId, subject };
}

/** The hash of the subject's signed terms, computed by the coordinator (workflows hash nothing). */
export function termsHashOf(terms: SignedTerms): Promise<string> {
  return coordinator().termsHash(terms);
}

/**
 * Throws with the reason unless the signed statement decides exactly what this run expects, now:
 * its run, its subject, the action, the principal and the content. Used by update validators, so a
 * decision copied from another run, subject or content is refused before it reaches the history.
 */
export function assertDecides(signed: SignedDecision | undefined, expected: ExpectedDecision): void {
  if (!signed?.statement || typeof signed.signature !== 'string')
    throw refusal(
      'DecisionInvalid',
      'the decision is not signed: a signed statement and its signature are required',
    );
  const mismatch = decisionMismatch(signed.statement, expected, Date.now());
  if (mismatch) throw refusal(mismatchType(signed.statement, expected), mismatch);
}

/** Signed by a party other than the one this action needs: forbidden; expired or off-scope: invalid. */
function mismatchType(statement: SignedDecision['statement'], expected: ExpectedDecision): RefusalType {
  if (expected.principal !== undefined && statement.principal !== expected.principal) return 'Forbidden';
  const expired = typeof statement.notAfter === 'number' && Date.now() >= statement.notAfter;
  return expired ? 'DecisionExpired' : 'DecisionInvalid';
}

/** The coordinator's refusal types (activities/coordinator/decision-check.ts), as refusals. */
const COORDINATOR_REFUSALS: Record<string, RefusalType> = {
  DecisionForAnotherRun: 'DecisionInvalid',
  DecisionSignatureInvalid: 'DecisionInvalid',
  DecisionExpired: 'DecisionExpired',
  NotAPrincipal: 'Forbidden',
};

/**
 * The coordinator's verdict on a signed decision: the statement decides what this run expects, and
 * the principal it names signed it under its registered key. Whatever reaches Temporal, only a
 * verified signer is counted; a refusal rejects the update with the coordinator's reason.
 */
export async function verifiedSigner(
  signed: SignedDecision,
  expected: ExpectedDecision,
  roles?: PartyRole[],
  named?: { party: string; roles: PartyRole[] },
): Promise<Voter> {
  asRefusal(() => assertDecides(signed, expected));
  try {
    return await coordinator().verifyDecision({
      signed,
      ...(roles ? { roles } : {}),
      ...(named ? { named } : {}),
    });
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure)
      throw refusal(COORDINATOR_REFUSALS[cause.type ?? ''] ?? 'DecisionInvalid', cause.message);
    throw refusal('Unavailable', 'the decision could not be verified now; try again');
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
    if (error instanceof ApplicationFailure && isRefusalType(error.type)) throw error;
    throw refusal('InvalidInput', error instanceof Error ? error.message : String(error));
  }
}
