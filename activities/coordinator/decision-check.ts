import { ApplicationFailure } from '@temporalio/activity';
import { decisionSignatureValid } from '../../lib/signed-decision';
import { PartyRegistry, type PartyRole } from '../../lib/parties';

export interface VerifyDecisionInput {
  workflowId: string;
  principal: string;
  /** The role the registry must give the principal. */
  role: PartyRole;
  decision: unknown;
  signature: string;
}

/** The principal as verified: its id and the key its signature verified under. */
export interface VerifiedDecision {
  principal: string;
  key: string;
}

/**
 * Verifies a signed decision against the party registry before a workflow counts it, so approvals
 * sent straight to Temporal count only when the principal really signed them.
 */
export function createDecisionCheckActivities(deps: { partiesFile: string }) {
  async function verifyDecision(input: VerifyDecisionInput): Promise<VerifiedDecision> {
    // Read on every call: a principal registered (or removed) since the worker started counts as such.
    const party = (await PartyRegistry.load(deps.partiesFile)).get(input.principal);
    if (!party || party.role !== input.role)
      throw ApplicationFailure.nonRetryable(
        `${input.principal} is not a registered ${input.role} principal`,
        'NotAPrincipal',
      );
    if (!decisionSignatureValid(party.publicKey, input.workflowId, input.decision, input.signature))
      throw ApplicationFailure.nonRetryable(
        `the signature is not ${input.principal}'s over this decision on ${input.workflowId}`,
        'DecisionSignatureInvalid',
      );
    return { principal: party.id, key: party.publicKey };
  }
  return { verifyDecision };
}
