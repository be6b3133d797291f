import type { LedgerState } from './ledger-entries';
import { parseEscrowId, type EscrowRef } from '../../lib/ids/escrow-ids';

/**
 * The one settlement port. Every action is keyed by (deal id, action) and idempotent: calling it
 * again after it landed returns what it did the first time and moves no money.
 * Amounts are whole numbers of the currency's smallest unit, as decimal strings.
 *
 * Locking is two steps, because on a private chain the buyer pays from its own wallet: `openEscrow`
 * makes the deal's escrow and says where to pay; `lockEscrow` waits until exactly the price is there
 * (a wrong amount goes back to the buyer, refused). The local ledger, holding every balance itself,
 * moves the buyer's money in `lockEscrow` directly.
 */
/**
 * Every `dealId` below is an escrow id (`./types.ts`: `deal:<id>`, `share:<deal>:<seller>`,
 * `period:<subscription>:<n>`, `grant:<id>`): the key the action is idempotent on.
 */
export interface OpenEscrowInput {
  dealId: string;
  buyerId: string;
  amount: string;
}

export interface EscrowOpened {
  dealId: string;
  /** Where the buyer pays the amount (an Aztec address, or `ledger:<deal id>` on the local ledger). */
  escrowAddress: string;
  amount: string;
}

export interface LockEscrowInput {
  dealId: string;
  buyerId: string;
  amount: string;
  /** The payer's signed terms (lib/signed-terms.ts): settlement locks nothing without them. */
  terms?: unknown;
  /** Until when (ms since the epoch) to wait for the buyer's payment; then the lock is refused. */
  payBy?: number;
  /** Stops the wait (the worker shutting down); the activity is retried elsewhere. */
  signal?: AbortSignal;
}

export interface ReleaseEscrowInput {
  dealId: string;
  sellerId: string;
  /** Whose payment the escrow holds: a wallet finds the escrow's notes by their sender. */
  buyerId?: string;
  amount: string;
  /** Platform fee in basis points of the amount. */
  feeBps: number;
  /**
   * The result commitment to issue the buyer's receipt for, in the same transaction as the payout
   * (needs `buyerId`). Absent: no receipt.
   */
  receiptFor?: string;
}

export interface RefundEscrowInput {
  dealId: string;
  buyerId: string;
  amount: string;
}

export interface RecordReceiptInput {
  dealId: string;
  buyerId: string;
  /** The result commitment the perimeter returned (`sha256:<hex>`). */
  commitment: string;
}

/** Settlement results name the transaction that did it, where there is one, for auditors. */
interface OnChain {
  txHash?: string;
}

export interface EscrowLocked {
  dealId: string;
  amount: string;
}

export interface EscrowReleased extends OnChain {
  dealId: string;
  sellerAmount: string;
  feeAmount: string;
  /** The receipt issued with the release, when one was asked for. */
  receipt?: { receiptId: string; salt: string };
}

/** After a lock gave up or was refused: anything paid into the escrow later goes back to its payer. */
export interface ReturnLatePaymentsInput {
  dealId: string;
  /** Who was asked to pay (the buyer, subscriber or sponsor). */
  payerId: string;
  /** Until when (ms since the epoch) to watch the escrow. */
  watchUntil?: number;
  /** Stops the watch (the worker shutting down); a retry resumes it. */
  signal?: AbortSignal;
}

export interface LatePaymentsReturned extends OnChain {
  dealId: string;
  /** What went back to the payer in total; "0" when nothing arrived. */
  returned: string;
}

export interface EscrowRefunded extends OnChain {
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

/**
 * A disputed deal's split: from the frozen escrow, the seller's share less the fee to the seller, the
 * fee to the operator, and the rest back to the buyer, together. Idempotent per dealId.
 */
export interface SplitEscrowInput {
  dealId: string;
  /** The dispute's escrow id (`dispute:<deal id>`): names the split, apart from the deal's release. */
  splitId: string;
  sellerId: string;
  buyerId: string;
  /** What the escrow holds (the deal's price). */
  amount: string;
  /** The seller's gross share, before the fee; "0" gives everything back to the buyer. */
  sellerAmount: string;
  feeBps: number;
}

export interface EscrowSplit extends OnChain {
  dealId: string;
  sellerAmount: string;
  feeAmount: string;
  buyerAmount: string;
}

export interface ReceiptRecorded extends OnChain {
  dealId: string;
  /** The receipt's public id: blindedReceiptId(commitment, salt). */
  receiptId: string;
  /** The blinding salt (hex): with it the buyer or an auditor ties the receipt to the commitment. */
  salt: string;
}

/** A transparency-log head to anchor on chain (see lib/transparency/anchor.ts). */
export interface AnchorTreeHeadInput {
  treeSize: number;
  rootHash: string;
}

export interface TreeHeadAnchored {
  treeSize: number;
  rootHash: string;
  anchorId: string;
  /** The contract the anchor was minted in (the receipt NFT). */
  contract: string;
  txHash: string;
  blockNumber: number;
}

export interface SettlementPort {
  openEscrow(input: OpenEscrowInput): Promise<EscrowOpened>;
  lockEscrow(input: LockEscrowInput): Promise<EscrowLocked>;
  releaseEscrow(input: ReleaseEscrowInput): Promise<EscrowReleased>;
  refundEscrow(input: RefundEscrowInput): Promise<EscrowRefunded>;
  /**
   * Partial payouts. An escrow is settled either whole (releaseEscrow or refundEscrow) or in parts
   * (any number of releasePart, then refundRemainder); an adapter refuses to mix the two.
   */
  releasePart(input: ReleasePartInput): Promise<PartReleased>;
  refundRemainder(input: RefundRemainderInput): Promise<RemainderRefunded>;
  splitEscrow(input: SplitEscrowInput): Promise<EscrowSplit>;
  returnLatePayments(input: ReturnLatePaymentsInput): Promise<LatePaymentsReturned>;
  recordReceipt(input: RecordReceiptInput): Promise<ReceiptRecorded>;
  /** Anchors a log head publicly, once per head; refused where there is no chain (UnsupportedAction). */
  anchorTreeHead(input: AnchorTreeHeadInput): Promise<TreeHeadAnchored>;
  /**
   * What the account could pay now, in smallest units, where this settlement can tell; undefined
   * where it cannot (on Aztec a balance is private notes that only the payer's own wallet reads).
   */
  spendableBalance(account: string): Promise<string | undefined>;
}

/**
 * The local development ledger's accounts outside any deal: the operator credits an account (`tusk
 * operator fund`, a local deployment) and anyone reads it. Only settlement's own module opens the
 * ledger file (./ledger-accounts.ts); deal money moves only through SettlementPort in the worker.
 */
export interface LedgerAccounts {
  /** The JSON-lines file the ledger is kept in. */
  readonly path: string;
  /** Credits a positive amount, in smallest units. */
  mint(account: string, amount: bigint): Promise<void>;
  balanceOf(account: string): Promise<bigint>;
  /** Balances, escrows and receipts as the file says now. */
  state(): Promise<LedgerState>;
}

/** Business refusals of settlement: not retried. */
export type SettlementRefusal =
  | 'InvalidAmount'
  /** The lock's terms are not the payer's, signed with its registered key. */
  | 'PayerNotSigned'
  /** The transparency log's answer about the payer's key cannot be believed (proof, fork, wrong signer). */
  | 'KeyLogUnverified'
  /** A payout without the buyer's confirmation before its signed acceptance window has passed. */
  | 'AcceptanceWindowOpen'
  /** The buyer's confirmation that came with a payout is not its signed one for this run and terms. */
  | 'ConfirmationInvalid'
  /** A delivery reported without the seller's perimeter's signed release for these terms. */
  | 'ReleaseUnsigned'
  | 'UnknownParty'
  | 'InsufficientFunds'
  | 'PaymentNotReceived'
  | 'EscrowMismatch'
  | 'EscrowNotLocked'
  | 'EscrowAlreadySettled'
  /** The parts released would exceed what the escrow holds. */
  | 'EscrowExhausted'
  /** The adapter does not offer this action. */
  | 'UnsupportedAction'
  /** Not a namespaced escrow id (see ./types.ts): refused so that escrows of two kinds never meet. */
  | 'InvalidEscrowId'
  /** A log anchor asked for something that is not a tree head (size and root hash). */
  | 'InvalidTreeHead'
  /** No terms, or terms the key they name did not sign, came with a move of money. */
  | 'TermsSignatureInvalid'
  /** The move is not what the payer's signed terms say (amount, fee, payee, id, nonce, expiry). */
  | 'TermsMismatch'
  /** A grant tranche without the seller's signed "met" verdict or the sponsor's signed approval. */
  | 'TrancheUnproven'
  /** A refund of a delivered deal or share without two compliance principals' signed votes for it. */
  | 'RefundUnsigned'
  /** A refund of an undelivered deal or share without its perimeter's signed refusal, before its signed expiry. */
  | 'RefundUnproven'
  /** A dispute's split without two compliance principals' signed votes for exactly that split. */
  | 'SplitUnsigned'
  /** A grant's remainder asked back before a milestone the grantee was not paid missed its signed deadline. */
  | 'RemainderNotDue';

export class SettlementRefusedError extends Error {
  override name = 'SettlementRefusedError';
  constructor(
    readonly refusal: SettlementRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The escrow an id names; refuses an id that is not a namespaced escrow id. */
export function requireEscrowId(id: string): EscrowRef {
  const ref = typeof id === 'string' ? parseEscrowId(id) : undefined;
  if (!ref)
    throw new SettlementRefusedError(
      'InvalidEscrowId',
      `${JSON.stringify(id).slice(0, 80)} is not an escrow id (kind:id, e.g. deal:<deal id>)`,
    );
  return ref;
}

/** A positive whole amount of smallest units, or a refusal saying what is wrong with it. */
export function parseAmount(amount: string): bigint {
  if (typeof amount !== 'string' || !/^[0-9]{1,31}$/.test(amount) || BigInt(amount) === 0n)
    throw new SettlementRefusedError(
      'InvalidAmount',
      `amount must be a positive whole number of smallest units, got ${JSON.stringify(amount).slice(0, 40)}`,
    );
  return BigInt(amount);
}

/** The three payouts of a split, or a refusal when the seller's share exceeds the escrow. */
export function splitPayouts(input: SplitEscrowInput): { seller: bigint; fee: bigint; buyer: bigint } {
  const amount = parseAmount(input.amount);
  if (!/^[0-9]{1,31}$/.test(input.sellerAmount))
    throw new SettlementRefusedError('InvalidAmount', 'the seller share must be a whole number');
  const share = BigInt(input.sellerAmount);
  if (share > amount)
    throw new SettlementRefusedError('EscrowExhausted', `a share of ${share} exceeds the escrow's ${amount}`);
  const { sellerAmount, feeAmount } = splitFee(share, input.feeBps);
  return { seller: sellerAmount, fee: feeAmount, buyer: amount - share };
}

export function splitFee(amount: bigint, feeBps: number): { sellerAmount: bigint; feeAmount: bigint } {
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000)
    throw new RangeError('feeBps must be 0..10000');
  const feeAmount = (amount * BigInt(feeBps)) / 10_000n;
  return { sellerAmount: amount - feeAmount, feeAmount };
}
