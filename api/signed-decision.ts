import type { Party } from '../lib/parties';
import { decisionSignatureValid } from '../lib/signed-decision';
import { ApiError } from './errors';

/**
 * Refuses early what the workflow would refuse anyway: the coordinator verifies every decision again
 * before it counts, whoever sends it to Temporal.
 */
export function assertSignedDecision(
  party: Party,
  workflowId: string,
  decision: unknown,
  signature: string,
): void {
  if (!decisionSignatureValid(party.publicKey, workflowId, decision, signature))
    throw new ApiError(
      'decision_signature_invalid',
      `signature is not ${party.id}'s over this decision on ${workflowId} (see lib/signed-decision.ts)`,
    );
}
