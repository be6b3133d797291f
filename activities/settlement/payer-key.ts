import type { PartyRegistry } from '../../lib/parties';
import { signedTermsSchema, termsSignatureValid } from '../../lib/signed-terms';
import { SettlementRefusedError } from './port';

/**
 * Nothing is locked from a payer but under its own signature: the lock carries the payer's signed
 * terms, which must name the payer, verify, and be signed by the key the registry holds for it. A deal
 * started on Temporal with terms signed by a fresh key that merely names a registered buyer is refused
 * here, before the buyer's money moves.
 */
export function requirePayerSigned(
  input: { buyerId: string; terms?: unknown },
  parties: PartyRegistry,
): void {
  const refuse = (message: string): never => {
    throw new SettlementRefusedError('PayerNotSigned', message);
  };
  const terms = signedTermsSchema.safeParse(input.terms);
  if (!terms.success) return refuse(`no terms signed by ${input.buyerId} come with this lock`);
  const { signer, publicKey } = terms.data;
  if (signer !== input.buyerId) refuse(`the terms are ${signer}'s, not the payer ${input.buyerId}'s`);
  if (!termsSignatureValid(terms.data)) refuse(`the terms' signature does not verify`);
  const registered = parties.get(signer);
  if (!registered) refuse(`${signer} is not a registered party`);
  if (registered?.publicKey !== publicKey)
    refuse(`the terms are signed by a key that is not ${signer}'s registered key`);
}
