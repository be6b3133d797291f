import { createHash } from 'node:crypto';
import type { SignedDecision } from '../../lib/signed-decision';
import type { DeliveryRecords } from './acceptance';

/**
 * Settlement's own record that it accepted one signed consent (a seller's `refund_consent`, a
 * grantee's `remainder_consent`) for one escrow: keyed by the escrow and the signature's hash, written
 * once on settlement's clock, only after the consent was checked in full while unexpired.
 */
export const consentAcceptedKey = (escrowId: string, consent: SignedDecision) =>
  `${escrowId}#consent:${createHash('sha256').update(String(consent.signature)).digest('hex')}`;

/**
 * The time a consent's expiry is judged at: when settlement first accepted this very signature for
 * this escrow, or now. A money move that failed after the consent was accepted (the adapter, the
 * network) is retried later with the same consent and still carries it out; the consent bounded when
 * the party's decision could first reach settlement, not how long a failed transfer may take.
 *
 * The operator cannot carry the relaxed expiry anywhere else: the record is keyed by the escrow, and
 * the consent is still compared in full against the escrow it is shown for (its deal, terms hash and
 * escrow id are signed), so on another escrow it is refused as it always was.
 */
export async function consentCheckTime(
  records: DeliveryRecords,
  escrowId: string,
  consent: SignedDecision,
  now: number,
): Promise<number> {
  return (await records.deliveredAt(consentAcceptedKey(escrowId, consent))) ?? now;
}

/** Records the first acceptance (a later one keeps the first time). */
export async function recordConsentAccepted(
  records: DeliveryRecords,
  escrowId: string,
  consent: SignedDecision,
  now: number,
): Promise<void> {
  await records.recordOnce(consentAcceptedKey(escrowId, consent), now);
}
