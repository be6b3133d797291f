import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import {
  SettlementRefusedError,
  splitFee,
  type EscrowLocked,
  type EscrowOpened,
  type EscrowRefunded,
  type EscrowReleased,
  type LockEscrowInput,
  type OpenEscrowInput,
  type ReceiptRecorded,
  type RecordReceiptInput,
  type RefundEscrowInput,
  type ReleaseEscrowInput,
  type SettlementPort,
  parseAmount,
} from './port';
import { blindedReceiptId } from './receipt-id';

const entry = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mint'), account: z.string(), amount: z.string(), at: z.string() }),
  z.object({
    kind: z.literal('lock'),
    dealId: z.string(),
    buyerId: z.string(),
    amount: z.string(),
    at: z.string(),
  }),
  z.object({
    kind: z.literal('release'),
    dealId: z.string(),
    sellerId: z.string(),
    sellerAmount: z.string(),
    feeAmount: z.string(),
    at: z.string(),
  }),
  z.object({
    kind: z.literal('refund'),
    dealId: z.string(),
    buyerId: z.string(),
    amount: z.string(),
    at: z.string(),
  }),
  z.object({
    kind: z.literal('receipt'),
    dealId: z.string(),
    buyerId: z.string(),
    receiptId: z.string(),
    salt: z.string(),
    at: z.string(),
  }),
]);
type Entry = z.infer<typeof entry>;
type EntryInput = Entry extends infer E ? (E extends Entry ? Omit<E, 'at'> : never) : never;

export const OPERATOR_ACCOUNT = 'operator';

interface Escrow {
  buyerId: string;
  amount: bigint;
  outcome?: { kind: 'release'; sellerAmount: bigint; feeAmount: bigint } | { kind: 'refund' };
}

export interface LedgerState {
  balances: Map<string, bigint>;
  escrows: Map<string, Escrow>;
  receipts: Map<string, { buyerId: string; receiptId: string; salt: string }>;
}

function apply(state: LedgerState, e: Entry): void {
  const add = (account: string, delta: bigint) =>
    state.balances.set(account, (state.balances.get(account) ?? 0n) + delta);
  switch (e.kind) {
    case 'mint':
      add(e.account, BigInt(e.amount));
      break;
    case 'lock':
      add(e.buyerId, -BigInt(e.amount));
      state.escrows.set(e.dealId, { buyerId: e.buyerId, amount: BigInt(e.amount) });
      break;
    case 'release': {
      const escrow = state.escrows.get(e.dealId);
      if (escrow)
        escrow.outcome = {
          kind: 'release',
          sellerAmount: BigInt(e.sellerAmount),
          feeAmount: BigInt(e.feeAmount),
        };
      add(e.sellerId, BigInt(e.sellerAmount));
      add(OPERATOR_ACCOUNT, BigInt(e.feeAmount));
      break;
    }
    case 'refund': {
      const escrow = state.escrows.get(e.dealId);
      if (escrow) escrow.outcome = { kind: 'refund' };
      add(e.buyerId, BigInt(e.amount));
      break;
    }
    case 'receipt':
      state.receipts.set(e.dealId, { buyerId: e.buyerId, receiptId: e.receiptId, salt: e.salt });
      break;
  }
}

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
    for (const line of text.split('\n')) if (line.trim()) apply(state, entry.parse(JSON.parse(line)));
    return state;
  }

  async balanceOf(account: string): Promise<bigint> {
    return (await this.state()).balances.get(account) ?? 0n;
  }

  private async append(e: EntryInput): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, `${JSON.stringify({ ...e, at: new Date().toISOString() })}\n`, {
      flush: true,
    });
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
    parseAmount(input.amount);
    return { dealId: input.dealId, escrowAddress: `ledger:${input.dealId}`, amount: input.amount };
  }

  /** The ledger holds the buyer's balance itself, so locking moves the payment at once. */
  lockEscrow(input: LockEscrowInput): Promise<EscrowLocked> {
    return this.exclusive(async () => {
      const state = await this.state();
      const amount = parseAmount(input.amount);
      const existing = state.escrows.get(input.dealId);
      if (existing) {
        if (existing.buyerId !== input.buyerId || existing.amount !== amount) {
          throw new SettlementRefusedError(
            'EscrowMismatch',
            `deal ${input.dealId} already holds a different escrow`,
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
    if (!escrow) throw new SettlementRefusedError('EscrowNotLocked', `deal ${dealId} has no escrow`);
    if (escrow.amount !== BigInt(amount)) {
      throw new SettlementRefusedError(
        'EscrowMismatch',
        `deal ${dealId} holds ${escrow.amount}, not ${amount}`,
      );
    }
    return escrow;
  }

  releaseEscrow(input: ReleaseEscrowInput): Promise<EscrowReleased> {
    return this.exclusive(async () => {
      const escrow = this.lockedEscrow(await this.state(), input.dealId, input.amount);
      if (escrow.outcome?.kind === 'release') {
        return {
          dealId: input.dealId,
          sellerAmount: escrow.outcome.sellerAmount.toString(),
          feeAmount: escrow.outcome.feeAmount.toString(),
        };
      }
      if (escrow.outcome)
        throw new SettlementRefusedError('EscrowAlreadySettled', `deal ${input.dealId} was refunded`);
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
      const escrow = this.lockedEscrow(await this.state(), input.dealId, input.amount);
      if (escrow.outcome?.kind === 'refund') return { dealId: input.dealId, amount: input.amount };
      if (escrow.outcome)
        throw new SettlementRefusedError('EscrowAlreadySettled', `deal ${input.dealId} was released`);
      await this.append({
        kind: 'refund',
        dealId: input.dealId,
        buyerId: escrow.buyerId,
        amount: input.amount,
      });
      return { dealId: input.dealId, amount: input.amount };
    });
  }

  /** Records the receipt with a fresh random salt; a repeated call returns the first one. */
  recordReceipt(input: RecordReceiptInput): Promise<ReceiptRecorded> {
    return this.exclusive(async () => {
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
}
