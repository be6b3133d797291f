import { canonicalJson } from './canonical-json';
import { signEd25519, verifyEd25519 } from './ed25519';
import { DECISION_DOMAIN, type DecisionStatement, type SignedDecision } from './decision-statement';

export * from './decision-statement';

/** The exact bytes signed: the domain tag and version, then the statement's canonical JSON. */
export function decisionMessage(statement: DecisionStatement): string {
  return `${DECISION_DOMAIN}\n${canonicalJson(statement)}`;
}

export function signDecision<C>(privateKeyPem: string, statement: DecisionStatement<C>): SignedDecision<C> {
  return { statement, signature: signEd25519(privateKeyPem, decisionMessage(statement)) };
}

/** False for a wrong, malformed or foreign signature, or a statement canonical JSON cannot hold. */
export function decisionSignatureValid(publicKey: string, signed: SignedDecision): boolean {
  try {
    return verifyEd25519(publicKey, decisionMessage(signed.statement), signed.signature);
  } catch {
    return false;
  }
}
