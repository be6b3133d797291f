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

export interface SettlementPort {
  lockEscrow(input: LockEscrowInput): Promise<EscrowLocked>;
  releaseEscrow(input: ReleaseEscrowInput): Promise<EscrowReleased>;
  refundEscrow(input: RefundEscrowInput): Promise<EscrowRefunded>;
}

/** Business refusals of settlement: not retried. */
export type SettlementRefusal =
  'InsufficientFunds' | 'EscrowMismatch' | 'EscrowNotLocked' | 'EscrowAlreadySettled';

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
