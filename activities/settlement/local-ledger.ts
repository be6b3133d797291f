import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crashPoint } from '../../lib/crash-point';
import {
  applyEntry,
  ledgerEntry,
  remainderOf,
  type Escrow,
  type LedgerEntryInput,
  type LedgerState,
} from './ledger-entries';
import {
  SettlementRefusedError,
  splitFee,
  type EscrowLocked,
  type EscrowOpened,
  type EscrowRefunded,
  type EscrowReleased,
  type LockEscrowInput,
  type PartReleased,
  type OpenEscrowInput,
  type ReceiptRecorded,
  type RecordReceiptInput,
  type RefundEscrowInput,
  type RefundRemainderInput,
  type ReleaseEscrowInput,
  type ReleasePartInput,
  type RemainderRefunded,
  type SettlementPort,
  type SplitEscrowInput,
  type ReturnLatePaymentsInput,
  type LatePaymentsReturned,
  type EscrowSplit,
  type TreeHeadAnchored,
  splitPayouts,
  parseAmount,
  requireEscrowId,
} from './port';
import { blindedReceiptId } from '../../lib/ids/receipt-id';

export { OPERATOR_ACCOUNT, type LedgerState } from './ledger-entries';

/**
 * Development settlement: an append-only JSON-lines ledger file with balances and per-deal escrows.
 * It keeps the port's guarantees (idempotent per deal and action, never negative) but none of
 * Aztec's privacy; it exists so the whole deal runs on one machine without a chain. One settlement
 * worker writes it; anyone may read it.
 */
export class LocalLedger implements SettlementPort {
  // Serialises read-check-append within the worker process.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async state(): Promise<LedgerState> {
    const state: LedgerState = { balances: new Map(), escrows: new Map(), receipts: new Map() };
    const text = await readFile(this.path, 'utf8').catch(() => '');
    for (const line of text.split('\n'))
      if (line.trim()) applyEntry(state, ledgerEntry.parse(JSON.parse(line)));
    return state;
  }

  async balanceOf(account: string): Promise<bigint> {
    return (await this.state()).balances.get(account) ?? 0n;
  }

  /** The local ledger holds every balance itself, so it always knows. */
  async spendableBalance(account: string): Promise<string> {
    return (await this.balanceOf(account)).toString();
  }

  private async append(e: LedgerEntryInput): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify({ ...e, at: new Date().toISOString() })}\n`, {
      flush: true,
    });
    crashPoint(`ledger-write:${e.kind}`);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  mint(account: string, amount: bigint): Promise<void> {
    if (amount <= 0n) throw new RangeError('mint a positive amount');
    return this.exclusive(() => this.append({ kind: 'mint', account, amount: amount.toString() }));
  }

  /** Nothing to deploy: the ledger's escrow for a deal is a line it writes when locking. */
  async openEscrow(input: OpenEscrowInput): Promise<EscrowOpened> {
    requireEscrowId(input.dealId);
    parseAmount(input.amount);
    return { dealId: input.dealId, escrowAddress: `ledger:${input.dealId}`, amount: input.amount };
  }

  /** The ledger holds the buyer's balance itself, so locking moves the payment at once. */
  lockEscrow(input: LockEscrowInput): Promise<EscrowLocked> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      const state = await this.state();
      const amount = parseAmount(input.amount);
      const existing = state.escrows.get(input.dealId);
      if (existing) {
        if (existing.buyerId !== input.buyerId || existing.amount !== amount) {
          throw new SettlementRefusedError(
            'EscrowMismatch',
            `escrow ${input.dealId} already holds a different escrow`,
          );
        }
        return { dealId: input.dealId, amount: input.amount };
      }
      const balance = state.balances.get(input.buyerId) ?? 0n;
      if (balance < amount) {
        throw new SettlementRefusedError(
          'InsufficientFunds',
          `buyer ${input.buyerId} holds ${balance}, the deal needs ${amount}`,
        );
      }
      await this.append({ kind: 'lock', dealId: input.dealId, buyerId: input.buyerId, amount: input.amount });
      return { dealId: input.dealId, amount: input.amount };
    });
  }

  private lockedEscrow(state: LedgerState, dealId: string, amount: string): Escrow {
    const escrow = state.escrows.get(dealId);
    if (!escrow) throw new SettlementRefusedError('EscrowNotLocked', `escrow ${dealId} has no escrow`);
    if (escrow.amount !== BigInt(amount)) {
      throw new SettlementRefusedError(
        'EscrowMismatch',
        `escrow ${dealId} holds ${escrow.amount}, not ${amount}`,
      );
    }
    return escrow;
  }

  /** The release, then the receipt when one is asked for (two lines; a chain does both in one tx). */
  async releaseEscrow(input: ReleaseEscrowInput): Promise<EscrowReleased> {
    const released = await this.releaseOnly(input);
    if (input.receiptFor === undefined) return released;
    if (!input.buyerId)
      throw new SettlementRefusedError('UnknownParty', 'a receipt needs the buyer it is issued to');
    const { receiptId, salt } = await this.recordReceipt({
      dealId: input.dealId,
      buyerId: input.buyerId,
      commitment: input.receiptFor,
    });
    return { ...released, receipt: { receiptId, salt } };
  }

  private releaseOnly(input: ReleaseEscrowInput): Promise<EscrowReleased> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      const escrow = this.lockedEscrow(await this.state(), input.dealId, input.amount);
      if (escrow.parts.size > 0) throw partlySettled(input.dealId);
      if (escrow.outcome?.kind === 'release') {
        return {
          dealId: input.dealId,
          sellerAmount: escrow.outcome.sellerAmount.toString(),
          feeAmount: escrow.outcome.feeAmount.toString(),
        };
      }
      if (escrow.outcome) throw alreadySettled(input.dealId, escrow);
      const split = splitFee(escrow.amount, input.feeBps);
      const released = {
        dealId: input.dealId,
        sellerAmount: split.sellerAmount.toString(),
        feeAmount: split.feeAmount.toString(),
      };
      await this.append({ kind: 'release', sellerId: input.sellerId, ...released });
      return released;
    });
  }

  refundEscrow(input: RefundEscrowInput): Promise<EscrowRefunded> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      const escrow = this.lockedEscrow(await this.state(), input.dealId, input.amount);
      if (escrow.parts.size > 0) throw partlySettled(input.dealId);
      if (escrow.outcome?.kind === 'refund') return { dealId: input.dealId, amount: input.amount };
      if (escrow.outcome) throw alreadySettled(input.dealId, escrow);
      await this.append({
        kind: 'refund',
        dealId: input.dealId,
        buyerId: escrow.buyerId,
        amount: input.amount,
      });
      return { dealId: input.dealId, amount: input.amount };
    });
  }

  /** No chain to anchor on: the operator's own ledger file would prove nothing to an auditor. */
  anchorTreeHead(): Promise<TreeHeadAnchored> {
    return Promise.reject(
      new SettlementRefusedError(
        'UnsupportedAction',
        'log heads are anchored on Aztec only (TUSK_SETTLEMENT=aztec)',
      ),
    );
  }

  /** Records the receipt with a fresh random salt; a repeated call returns the first one. */
  recordReceipt(input: RecordReceiptInput): Promise<ReceiptRecorded> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      const existing = (await this.state()).receipts.get(input.dealId);
      if (existing) return { dealId: input.dealId, receiptId: existing.receiptId, salt: existing.salt };
      const salt = randomBytes(32);
      const receipt = {
        dealId: input.dealId,
        receiptId: blindedReceiptId(input.commitment, salt),
        salt: salt.toString('hex'),
      };
      await this.append({ kind: 'receipt', buyerId: input.buyerId, ...receipt });
      return receipt;
    });
  }

  releasePart(input: ReleasePartInput): Promise<PartReleased> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      const escrow = this.escrowOf(await this.state(), input.dealId);
      const amount = BigInt(input.amount);
      const done = escrow.parts.get(input.partId);
      if (done) {
        if (done.amount !== amount || done.payeeId !== input.payeeId) {
          throw new SettlementRefusedError(
            'EscrowMismatch',
            `part ${input.partId} of deal ${input.dealId} was released differently`,
          );
        }
        return partReleased(input, done.payeeAmount, done.feeAmount);
      }
      if (escrow.outcome) throw alreadySettled(input.dealId, escrow);
      if (amount <= 0n)
        throw new SettlementRefusedError('EscrowMismatch', `part ${input.partId} must be positive`);
      const remainder = remainderOf(escrow);
      if (amount > remainder) {
        throw new SettlementRefusedError(
          'EscrowExhausted',
          `escrow ${input.dealId} holds ${remainder}, part ${input.partId} needs ${amount}`,
        );
      }
      const split = splitFee(amount, input.feeBps);
      await this.append({
        kind: 'release_part',
        dealId: input.dealId,
        partId: input.partId,
        payeeId: input.payeeId,
        amount: input.amount,
        payeeAmount: split.sellerAmount.toString(),
        feeAmount: split.feeAmount.toString(),
      });
      return partReleased(input, split.sellerAmount, split.feeAmount);
    });
  }

  refundRemainder(input: RefundRemainderInput): Promise<RemainderRefunded> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      const escrow = this.escrowOf(await this.state(), input.dealId);
      if (escrow.buyerId !== input.funderId) {
        throw new SettlementRefusedError(
          'EscrowMismatch',
          `escrow ${input.dealId} was not funded by ${input.funderId}`,
        );
      }
      if (escrow.outcome?.kind === 'refund_remainder')
        return { dealId: input.dealId, amount: escrow.outcome.amount.toString() };
      if (escrow.outcome) throw alreadySettled(input.dealId, escrow);
      const amount = remainderOf(escrow).toString();
      await this.append({ kind: 'refund_remainder', dealId: input.dealId, buyerId: escrow.buyerId, amount });
      return { dealId: input.dealId, amount };
    });
  }

  /** A split is a part (the seller's share) and the remainder back to the buyer, written together. */
  splitEscrow(input: SplitEscrowInput): Promise<EscrowSplit> {
    return this.exclusive(async () => {
      requireEscrowId(input.dealId);
      requireEscrowId(input.splitId);
      const payouts = splitPayouts(input);
      const escrow = this.lockedEscrow(await this.state(), input.dealId, input.amount);
      const split = {
        dealId: input.dealId,
        sellerAmount: payouts.seller.toString(),
        feeAmount: payouts.fee.toString(),
        buyerAmount: payouts.buyer.toString(),
      };
      if (escrow.outcome?.kind === 'refund_remainder' && escrow.outcome.amount === payouts.buyer)
        return split;
      if (escrow.outcome || escrow.parts.size > 0) throw alreadySettled(input.dealId, escrow);
      if (payouts.seller + payouts.fee > 0n)
        await this.append({
          kind: 'release_part',
          dealId: input.dealId,
          partId: input.splitId,
          payeeId: input.sellerId,
          amount: input.sellerAmount,
          payeeAmount: split.sellerAmount,
          feeAmount: split.feeAmount,
        });
      await this.append({
        kind: 'refund_remainder',
        dealId: input.dealId,
        buyerId: escrow.buyerId,
        amount: split.buyerAmount,
      });
      return split;
    });
  }

  /** Nothing reaches a ledger escrow but what lockEscrow moved itself: there is never a late payment. */
  async returnLatePayments(input: ReturnLatePaymentsInput): Promise<LatePaymentsReturned> {
    requireEscrowId(input.dealId);
    return { dealId: input.dealId, returned: '0' };
  }

  private escrowOf(state: LedgerState, dealId: string): Escrow {
    const escrow = state.escrows.get(dealId);
    if (!escrow) throw new SettlementRefusedError('EscrowNotLocked', `escrow ${dealId} has no escrow`);
    return escrow;
  }
}

function partReleased(input: ReleasePartInput, payeeAmount: bigint, feeAmount: bigint): PartReleased {
  return {
    dealId: input.dealId,
    partId: input.partId,
    payeeAmount: payeeAmount.toString(),
    feeAmount: feeAmount.toString(),
  };
}

function partlySettled(dealId: string): SettlementRefusedError {
  return new SettlementRefusedError(
    'EscrowAlreadySettled',
    `escrow ${dealId} is being settled in parts; close it with refundRemainder`,
  );
}

function alreadySettled(dealId: string, escrow: Escrow): SettlementRefusedError {
  const how = { release: 'released', refund: 'refunded', refund_remainder: 'closed' };
  return new SettlementRefusedError(
    'EscrowAlreadySettled',
    `escrow ${dealId} was ${escrow.outcome ? how[escrow.outcome.kind] : 'settled'}`,
  );
}
