import { payerRole, registrationProblem, type KeyHistory, type RegisteredKeys } from '../../lib/key-log';
import {
  signedTermsSchema,
  termsHashOf,
  termsSignatureValid,
  type SignedTerms,
} from '../../lib/signed-terms';
import { periodCovers } from '../../lib/transparency/key-registration';
import type { LockedPayerKey, PayerKeyRecords } from './payer-key-record';
import { SettlementRefusedError } from './port';

const refuse = (message: string): never => {
  throw new SettlementRefusedError('PayerNotSigned', message);
};

/**
 * Nothing is locked from a payer but under its own signature: the lock carries the payer's signed
 * terms, which must name the payer, verify, and be signed by the key the transparency log registers
 * for it in the role that pays (proven to the operator's signed head, not read from the operator's
 * registry file). A deal started on Temporal with terms signed by a fresh key that merely names a
 * registered buyer, or a key swapped into the registry behind the log's back, is refused here,
 * before the payer's money moves.
 *
 * Which key: the payer's current one the first time settlement locks on these terms, recorded then
 * (./payer-key-record.ts); every later lock on the same terms (the lock after the open, a share's, a
 * period's) is checked under that recorded key, read back against the log's registration of it. A
 * buyer that rotates its key after signing keeps what it signed; a retired key's new terms have no
 * record and are refused under the current key.
 */
export async function requirePayerSigned(
  input: { buyerId: string; terms?: unknown },
  keys: RegisteredKeys & Partial<KeyHistory>,
  records?: PayerKeyRecords,
  now = Date.now(),
): Promise<void> {
  const terms = signedTermsSchema.safeParse(input.terms);
  if (!terms.success) return refuse(`no terms signed by ${input.buyerId} come with this lock`);
  const { signer } = terms.data;
  if (signer !== input.buyerId) refuse(`the terms are ${signer}'s, not the payer ${input.buyerId}'s`);
  if (!termsSignatureValid(terms.data)) refuse(`the terms' signature does not verify`);
  const termsHash = termsHashOf(terms.data);
  const recorded = await records?.recorded(signer, termsHash);
  if (recorded) return requireRecordedKey(terms.data, recorded, keys);
  const registered = await keys.currentKey(signer);
  const problem = registrationProblem(registered, signedKey(terms.data), [payerRole(terms.data.kind)]);
  if (problem) refuse(problem);
  await records?.recordOnce({
    signer,
    termsHash,
    publicKey: registered!.publicKey,
    sequence: registered!.sequence,
    lockedAt: now,
  });
}

const signedKey = (terms: SignedTerms) => ({ partyId: terms.signer, publicKey: terms.publicKey });

/**
 * Terms settlement already locked on: signed by the key it recorded then, and that key is the one the
 * log registered under the recorded sequence (a record that does not match the log is refused, not
 * believed). Without the log's history of keys, the current key decides, as on a first lock.
 */
async function requireRecordedKey(
  terms: SignedTerms,
  recorded: LockedPayerKey,
  keys: RegisteredKeys & Partial<KeyHistory>,
): Promise<void> {
  if (recorded.publicKey !== terms.publicKey)
    refuse(
      `the terms are signed by ${terms.publicKey}, not the key settlement verified at lock (${recorded.publicKey})`,
    );
  const roles = [payerRole(terms.kind)];
  if (!keys.keyPeriods) {
    const problem = registrationProblem(await keys.currentKey(terms.signer), signedKey(terms), roles);
    if (problem) refuse(problem);
    return;
  }
  const periods = await keys.keyPeriods(terms.signer);
  const atLock = periods.find((period) => period.registration.sequence === recorded.sequence);
  const problem =
    registrationProblem(atLock?.registration, signedKey(terms), roles) ??
    (periodCovers(atLock!, recorded.lockedAt)
      ? undefined
      : `registration ${recorded.sequence} of ${terms.signer} was not its key at ${new Date(recorded.lockedAt).toISOString()}`);
  if (problem) refuse(`the key settlement recorded at lock is not what the log registered then: ${problem}`);
}
