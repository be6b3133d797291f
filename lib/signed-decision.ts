import { canonicalJson } from './canonical-json';
import { signEd25519, verifyEd25519 } from './ed25519';

/**
 * A principal's decision (a dispute approval, a disclosure decision), signed over the workflow it is
 * for: it cannot be counted in another dispute or disclosure, nor as another decision.
 */
export function decisionMessage(workflowId: string, decision: unknown): string {
  return `tusk decision v1\n${canonicalJson({ workflowId, decision })}`;
}

export function signDecision(privateKeyPem: string, workflowId: string, decision: unknown): string {
  return signEd25519(privateKeyPem, decisionMessage(workflowId, decision));
}

/** False for a wrong, malformed or foreign signature, or a decision canonical JSON cannot hold. */
export function decisionSignatureValid(
  publicKey: string,
  workflowId: string,
  decision: unknown,
  signature: string,
): boolean {
  try {
    return verifyEd25519(publicKey, decisionMessage(workflowId, decision), signature);
  } catch {
    return false;
  }
}
