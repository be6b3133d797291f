import { payerRole, registeredKeyProblem, type RegisteredKeys } from '../../lib/key-log';
import { signedTermsSchema, termsSignatureValid } from '../../lib/signed-terms';
import { SettlementRefusedError } from './port';

/**
 * Nothing is locked from a payer but under its own signature: the lock carries the payer's signed
 * terms, which must name the payer, verify, and be signed by the key the transparency log registers
 * for it in the role that pays (proven to the operator's signed head, not read from the operator's
 * registry file). A deal started on Temporal with terms signed by a fresh key that merely names a
 * registered buyer, or a key swapped into the registry behind the log's back, is refused here,
 * before the payer's money moves.
 */
export async function requirePayerSigned(
  input: { buyerId: string; terms?: unknown },
  keys: RegisteredKeys,
): Promise<void> {
  const refuse = (message: string): never => {
    throw new SettlementRefusedError('PayerNotSigned', message);
  };
  const terms = signedTermsSchema.safeParse(input.terms);
  if (!terms.success) return refuse(`no terms signed by ${input.buyerId} come with this lock`);
  const { kind, signer, publicKey } = terms.data;
  if (signer !== input.buyerId) refuse(`the terms are ${signer}'s, not the payer ${input.buyerId}'s`);
  if (!termsSignatureValid(terms.data)) refuse(`the terms' signature does not verify`);
  const problem = await registeredKeyProblem(keys, { partyId: signer, publicKey }, [payerRole(kind)]);
  if (problem) refuse(problem);
}
