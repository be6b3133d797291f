import { createHmac } from 'node:crypto';

/** What a per-deal secret is for; each purpose gives an unrelated value. */
export type DealSecretPurpose = 'escrow-secret-key' | 'escrow-salt' | 'receipt-salt';

/**
 * A deal's secrets, derived from the operator's escrow master secret and the deal id: a settlement
 * worker that lost everything but the master secret derives the same escrow (keys and address) again.
 * 32 bytes; callers reduce them into a field element.
 */
export function deriveDealSecret(master: Buffer, purpose: DealSecretPurpose, dealId: string): Buffer {
  if (master.length < 32) throw new RangeError('the escrow master secret must be at least 32 bytes');
  return createHmac('sha256', master).update(`tusk ${purpose} v1\0${dealId}`).digest();
}
