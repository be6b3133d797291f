/**
 * The one settlement port. Every action is keyed by (deal id, action) and idempotent: calling it
 * again after it landed returns what it did the first time and moves no money.
 * Amounts are whole numbers of the currency's smallest unit, as decimal strings.
 */
export interface LockEscrowInput {
  dealId: string;
  buyerId: string;
  amount: string;
}

export interface ReleaseEscrowInput {
  dealId: string;
  sellerId: string;
  amount: string;
  /** Platform fee in basis points of the amount. */
  feeBps: number;
}

export interface RefundEscrowInput {
  dealId: string;
  buyerId: string;
  amount: string;
}

export interface EscrowLocked {
  dealId: string;
  amount: string;
}

export interface EscrowReleased {
  dealId: string;
  sellerAmount: string;
  feeAmount: string;
}

export interface EscrowRefunded {
  dealId: string;
  amount: string;
}

/**
 * One part of an escrow paid out while the rest stays locked: a grant's tranche, or the seller's
 * share of a disputed deal. Idempotent per (dealId, partId); the fee is taken from the part.
 */
export interface ReleasePartInput {
  dealId: string;
  /** Names the part within the escrow, e.g. a milestone id or `dispute`. */
  partId: string;
  payeeId: string;
  amount: string;
  feeBps: number;
}

export interface PartReleased {
  dealId: string;
  partId: string;
  payeeAmount: string;
  feeAmount: string;
}

/** Closes an escrow: whatever parts did not release goes back to the funder. Idempotent per dealId. */
export interface RefundRemainderInput {
  dealId: string;
  /** The account the escrow was locked from (lockEscrow's buyerId). */
  funderId: string;
}

export interface RemainderRefunded {
  dealId: string;
  /** What went back; "0" when every part had been released. */
  amount: string;
}

export interface SettlementPort {
  lockEscrow(input: LockEscrowInput): Promise<EscrowLocked>;
  releaseEscrow(input: ReleaseEscrowInput): Promise<EscrowReleased>;
  refundEscrow(input: RefundEscrowInput): Promise<EscrowRefunded>;
  /**
   * Partial payouts. An escrow is settled either whole (releaseEscrow or refundEscrow) or in parts
   * (any number of releasePart, then refundRemainder); an adapter refuses to mix the two.
   */
  releasePart(input: ReleasePartInput): Promise<PartReleased>;
  refundRemainder(input: RefundRemainderInput): Promise<RemainderRefunded>;
}

/** Business refusals of settlement: not retried. */
export type SettlementRefusal =
  | 'InsufficientFunds'
  | 'EscrowMismatch'
  | 'EscrowNotLocked'
  | 'EscrowAlreadySettled'
  /** The parts released would exceed what the escrow holds. */
  | 'EscrowExhausted';

export class SettlementRefusedError extends Error {
  override name = 'SettlementRefusedError';
  constructor(
    readonly refusal: SettlementRefusal,
    message: string,
  ) {
    super(message);
  }
}

export function splitFee(amount: bigint, feeBps: number): { sellerAmount: bigint; feeAmount: bigint } {
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000)
    throw new RangeError('feeBps must be 0..10000');
  const feeAmount = (amount * BigInt(feeBps)) / 10_000n;
  return { sellerAmount: amount - feeAmount, feeAmount };
}
