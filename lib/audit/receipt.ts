import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalHash } from '../canonical-json';
import type { OperatorSigner } from './operator-key';
import type { MoneyFacts } from './settlement-facts';
import {
  checkDocumentSignature,
  operatorSignature,
  signDocument,
  type SignatureCheck,
} from './signed-document';

const sha256Ref = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const amount = z.string().regex(/^[0-9]{1,31}$/);

export const receiptKinds = ['cohort_query', 'multi_seller', 'subscription_period', 'grant'] as const;

/** What the redaction rules hide from auditors: sealed in the receipt, opened for the parties. */
export const receiptParties = z.strictObject({ buyer: z.string(), sellers: z.array(z.string()) });
export const receiptAmounts = z.strictObject({
  currency: z.literal('smallest units'),
  deposits: amount,
  payouts: z.array(z.strictObject({ to: z.string(), amount, part: z.string().optional() })),
  fee: amount,
  feeBps: z.number().int().min(0).max(10_000),
  refunds: z.array(z.strictObject({ to: z.string(), amount })),
});

/**
 * The signed part of a receipt. Parties and amounts appear only as salted hashes (`sealed`), so the
 * one signed document serves everyone: the parties receive the openings beside it and check them
 * against the seals; an auditor sees the seals only, and an approved disclosure hands over an opening.
 */
export const receiptBody = z.strictObject({
  type: z.literal('tusk.receipt/v1'),
  dealId: z.string(),
  kind: z.enum(receiptKinds),
  outcome: z.enum(['settled', 'refunded']),
  templateId: z.string().optional(),
  templateHash: sha256Ref.optional(),
  resultCommitment: sha256Ref.optional(),
  /** The receipt recorded on the chain (an NFT id on Aztec): a blinded hash of the commitment. */
  chainReceiptId: z.string().optional(),
  settlement: z.strictObject({
    adapter: z.enum(['local-ledger', 'aztec']),
    transactions: z.array(z.strictObject({ action: z.string(), txHash: z.string().optional() })),
    /** Lines of the local ledger that moved this deal's money: position and sha256 of the line. */
    ledgerEntries: z.array(
      z.strictObject({ line: z.number().int().min(1), kind: z.string(), digest: sha256Ref }),
    ),
  }),
  times: z.strictObject({ startedAt: z.iso.datetime(), settledAt: z.iso.datetime() }),
  issuedAt: z.iso.datetime(),
  sealed: z.strictObject({ parties: sha256Ref, amounts: sha256Ref }),
});
export type ReceiptBody = z.infer<typeof receiptBody>;

const opening = <T extends z.ZodType>(value: T) =>
  z.strictObject({ salt: z.string().regex(/^[0-9a-f]{32}$/), value });
export const receiptOpenings = z.strictObject({
  parties: opening(receiptParties).optional(),
  amounts: opening(receiptAmounts).optional(),
  /** The salt that ties chainReceiptId to the result commitment (see activities/settlement/receipt-id.ts). */
  chainReceiptSalt: z.string().optional(),
});

export const signedReceipt = z.strictObject({
  body: receiptBody,
  signature: operatorSignature,
  openings: receiptOpenings.optional(),
});
export type SignedReceipt = z.infer<typeof signedReceipt>;
export type ReceiptParties = z.infer<typeof receiptParties>;
export type ReceiptAmounts = z.infer<typeof receiptAmounts>;

export const sealOf = (salt: string, value: unknown) => canonicalHash({ salt, value });

export interface ReceiptFacts {
  dealId: string;
  kind: ReceiptBody['kind'];
  outcome: ReceiptBody['outcome'];
  templateId?: string;
  templateHash?: string;
  resultCommitment?: string;
  parties: ReceiptParties;
  feeBps: number;
  money: MoneyFacts;
  adapter: ReceiptBody['settlement']['adapter'];
  ledgerEntries: ReceiptBody['settlement']['ledgerEntries'];
  startedAt: number;
  settledAt: number;
}

const sumOf = (items: { amount: string }[]) =>
  items.reduce((total, i) => total + BigInt(i.amount), 0n).toString();

export function amountsOf(facts: ReceiptFacts): ReceiptAmounts {
  return {
    currency: 'smallest units',
    deposits: sumOf(facts.money.deposits),
    payouts: facts.money.payouts,
    fee: sumOf(facts.money.fees),
    feeBps: facts.feeBps,
    refunds: facts.money.refunds,
  };
}

export function issueReceipt(signer: OperatorSigner, facts: ReceiptFacts, now = Date.now()): SignedReceipt {
  const parties = { salt: randomBytes(16).toString('hex'), value: facts.parties };
  const amounts = { salt: randomBytes(16).toString('hex'), value: amountsOf(facts) };
  const chain = facts.money.chainReceipt;
  const body: ReceiptBody = {
    type: 'tusk.receipt/v1',
    dealId: facts.dealId,
    kind: facts.kind,
    outcome: facts.outcome,
    ...(facts.templateId ? { templateId: facts.templateId } : {}),
    ...(facts.templateHash ? { templateHash: facts.templateHash } : {}),
    ...(facts.resultCommitment ? { resultCommitment: facts.resultCommitment } : {}),
    ...(chain ? { chainReceiptId: chain.id } : {}),
    settlement: {
      adapter: facts.adapter,
      transactions: facts.money.transactions,
      ledgerEntries: facts.ledgerEntries,
    },
    times: {
      startedAt: new Date(facts.startedAt).toISOString(),
      settledAt: new Date(facts.settledAt).toISOString(),
    },
    issuedAt: new Date(now).toISOString(),
    sealed: { parties: sealOf(parties.salt, parties.value), amounts: sealOf(amounts.salt, amounts.value) },
  };
  return {
    ...signDocument(signer, body),
    openings: { parties, amounts, ...(chain ? { chainReceiptSalt: chain.salt } : {}) },
  };
}

/** sha256 of the signed body: what the transparency log holds for a receipt. */
export const receiptDigest = (receipt: Pick<SignedReceipt, 'body'>) => canonicalHash(receipt.body);

/** The receipt as an auditor may see it: the signed body and its seals, no openings. */
export function sealedOnly(receipt: SignedReceipt): SignedReceipt {
  const { openings: _openings, ...rest } = receipt;
  return rest;
}

/** The signature, and every opening present against its seal. */
export function checkReceipt(receipt: SignedReceipt, operatorPublicKey?: string): SignatureCheck {
  const signature = checkDocumentSignature(receipt, operatorPublicKey);
  if (!signature.ok) return { ok: false, reason: `receipt: ${signature.reason}` };
  const { openings } = receipt;
  for (const field of ['parties', 'amounts'] as const) {
    const open = openings?.[field];
    if (open && sealOf(open.salt, open.value) !== receipt.body.sealed[field])
      return {
        ok: false,
        reason: `receipt: the ${field} shown do not match the ${field} the operator signed`,
      };
  }
  return { ok: true };
}
