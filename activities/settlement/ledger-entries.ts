import { z } from 'zod';

const amount = z.string();
const at = z.string();

/** One line of the local development ledger. Lines are only ever appended. */
export const ledgerEntry = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mint'), account: z.string(), amount, at }),
  z.object({ kind: z.literal('lock'), dealId: z.string(), buyerId: z.string(), amount, at }),
  z.object({
    kind: z.literal('release'),
    dealId: z.string(),
    sellerId: z.string(),
    sellerAmount: amount,
    feeAmount: amount,
    at,
  }),
  z.object({ kind: z.literal('refund'), dealId: z.string(), buyerId: z.string(), amount, at }),
  z.object({
    kind: z.literal('release_part'),
    dealId: z.string(),
    partId: z.string(),
    payeeId: z.string(),
    amount,
    payeeAmount: amount,
    feeAmount: amount,
    at,
  }),
  z.object({ kind: z.literal('refund_remainder'), dealId: z.string(), buyerId: z.string(), amount, at }),
  z.object({
    kind: z.literal('receipt'),
    dealId: z.string(),
    buyerId: z.string(),
    receiptId: z.string(),
    salt: z.string(),
    at,
  }),
]);
export type LedgerEntry = z.infer<typeof ledgerEntry>;
export type LedgerEntryInput = LedgerEntry extends infer E
  ? E extends LedgerEntry
    ? Omit<E, 'at'>
    : never
  : never;

export const OPERATOR_ACCOUNT = 'operator';

export interface ReleasedPart {
  payeeId: string;
  amount: bigint;
  payeeAmount: bigint;
  feeAmount: bigint;
}

export interface Escrow {
  buyerId: string;
  amount: bigint;
  /** Parts paid out so far, by part id (grant tranches, a dispute's seller share). */
  parts: Map<string, ReleasedPart>;
  outcome?:
    | { kind: 'release'; sellerAmount: bigint; feeAmount: bigint }
    | { kind: 'refund' }
    | { kind: 'refund_remainder'; amount: bigint };
}

export interface LedgerState {
  balances: Map<string, bigint>;
  escrows: Map<string, Escrow>;
  receipts: Map<string, { buyerId: string; receiptId: string; salt: string }>;
}

/** What an escrow still holds after its released parts. */
export function remainderOf(escrow: Escrow): bigint {
  let released = 0n;
  for (const part of escrow.parts.values()) released += part.amount;
  return escrow.amount - released;
}

export function applyEntry(state: LedgerState, e: LedgerEntry): void {
  const add = (account: string, delta: bigint) =>
    state.balances.set(account, (state.balances.get(account) ?? 0n) + delta);
  const escrow = 'dealId' in e ? state.escrows.get(e.dealId) : undefined;
  switch (e.kind) {
    case 'mint':
      add(e.account, BigInt(e.amount));
      break;
    case 'lock':
      add(e.buyerId, -BigInt(e.amount));
      state.escrows.set(e.dealId, { buyerId: e.buyerId, amount: BigInt(e.amount), parts: new Map() });
      break;
    case 'release':
      if (escrow)
        escrow.outcome = {
          kind: 'release',
          sellerAmount: BigInt(e.sellerAmount),
          feeAmount: BigInt(e.feeAmount),
        };
      add(e.sellerId, BigInt(e.sellerAmount));
      add(OPERATOR_ACCOUNT, BigInt(e.feeAmount));
      break;
    case 'refund':
      if (escrow) escrow.outcome = { kind: 'refund' };
      add(e.buyerId, BigInt(e.amount));
      break;
    case 'release_part':
      escrow?.parts.set(e.partId, {
        payeeId: e.payeeId,
        amount: BigInt(e.amount),
        payeeAmount: BigInt(e.payeeAmount),
        feeAmount: BigInt(e.feeAmount),
      });
      add(e.payeeId, BigInt(e.payeeAmount));
      add(OPERATOR_ACCOUNT, BigInt(e.feeAmount));
      break;
    case 'refund_remainder':
      if (escrow) escrow.outcome = { kind: 'refund_remainder', amount: BigInt(e.amount) };
      add(e.buyerId, BigInt(e.amount));
      break;
    case 'receipt':
      state.receipts.set(e.dealId, { buyerId: e.buyerId, receiptId: e.receiptId, salt: e.salt });
      break;
  }
}
