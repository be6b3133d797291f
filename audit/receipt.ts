import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalHash } from '../lib/canonical-json';
import type { OperatorSigner } from '../lib/transparency/operator-key';
import type { MoneyFacts } from './settlement-facts';
import {
  checkDocumentSignature,
  operatorSignature,
  signDocument,
  type SignatureCheck,
} from '../lib/transparency/signed-document';

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

/** Which signed template the deal ran: the catalog maps it to its seller and price, so it is sealed. */
export const receiptTemplate = z.strictObject({ templateId: z.string(), templateHash: sha256Ref });

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
  /** In clear on receipts issued before the template was sealed (`sealed.template`). */
  templateId: z.string().optional(),
  templateHash: sha256Ref.optional(),
  resultCommitment: sha256Ref.optional(),
  /** The receipt recorded on the chain (an NFT id on Aztec): a blinded hash of the commitment. */
  chainReceiptId: z.string().optional(),
  settlement: z.strictObject({
    adapter: z.enum(['local-ledger', 'aztec']),
    transactions: z.array(z.strictObject({ action: z.string(), txHash: z.string().optional() })),
    /**
     * Lines of the local ledger that moved this deal's money: position and digest of the line, salted
     * (`openings.ledgerSalt`) so that nobody can confirm a guess of a line's party, amount and time.
     * Receipts issued before the salt carry the line's plain sha256.
     */
    ledgerEntries: z.array(
      z.strictObject({ line: z.number().int().min(1), kind: z.string(), digest: sha256Ref }),
    ),
  }),
  times: z.strictObject({ startedAt: z.iso.datetime(), settledAt: z.iso.datetime() }),
  issuedAt: z.iso.datetime(),
  sealed: z.strictObject({ parties: sha256Ref, amounts: sha256Ref, template: sha256Ref.optional() }),
});
export type ReceiptBody = z.infer<typeof receiptBody>;

const salt = z.string().regex(/^[0-9a-f]{32}$/);
const opening = <T extends z.ZodType>(value: T) => z.strictObject({ salt, value });
export const receiptOpenings = z.strictObject({
  parties: opening(receiptParties).optional(),
  amounts: opening(receiptAmounts).optional(),
  template: opening(receiptTemplate).optional(),
  /** The salt of every ledger line's digest in `settlement.ledgerEntries`. */
  ledgerSalt: salt.optional(),
  /** The salt that ties chainReceiptId to the result commitment (see lib/ids/receipt-id.ts). */
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

/** A ledger line's digest as a receipt states it: over the salt and the line's own sha256. */
export const saltedLineDigest = (salt: string, lineDigest: string) =>
  canonicalHash({ salt, ledgerLine: lineDigest });

/** The digest a receipt should state for a line whose plain sha256 is `lineDigest`. */
export const statedLineDigest = (receipt: SignedReceipt, lineDigest: string) => {
  const ledgerSalt = receipt.openings?.ledgerSalt;
  return ledgerSalt ? saltedLineDigest(ledgerSalt, lineDigest) : lineDigest;
};

/** The template a receipt names, from its opening or, on older receipts, its clear fields. */
export function templateOf(receipt: SignedReceipt): z.infer<typeof receiptTemplate> | undefined {
  const opened = receipt.openings?.template?.value;
  if (opened) return opened;
  const { templateId, templateHash } = receipt.body;
  return templateId && templateHash ? { templateId, templateHash } : undefined;
}

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
  const newSalt = () => randomBytes(16).toString('hex');
  const parties = { salt: newSalt(), value: facts.parties };
  const amounts = { salt: newSalt(), value: amountsOf(facts) };
  const template =
    facts.templateId && facts.templateHash
      ? { salt: newSalt(), value: { templateId: facts.templateId, templateHash: facts.templateHash } }
      : undefined;
  const ledgerSalt = newSalt();
  const chain = facts.money.chainReceipt;
  const body: ReceiptBody = {
    type: 'tusk.receipt/v1',
    dealId: facts.dealId,
    kind: facts.kind,
    outcome: facts.outcome,
    ...(facts.resultCommitment ? { resultCommitment: facts.resultCommitment } : {}),
    ...(chain ? { chainReceiptId: chain.id } : {}),
    settlement: {
      adapter: facts.adapter,
      transactions: facts.money.transactions,
      ledgerEntries: facts.ledgerEntries.map((entry) => ({
        ...entry,
        digest: saltedLineDigest(ledgerSalt, entry.digest),
      })),
    },
    times: {
      startedAt: new Date(facts.startedAt).toISOString(),
      settledAt: new Date(facts.settledAt).toISOString(),
    },
    issuedAt: new Date(now).toISOString(),
    sealed: {
      parties: sealOf(parties.salt, parties.value),
      amounts: sealOf(amounts.salt, amounts.value),
      ...(template ? { template: sealOf(template.salt, template.value) } : {}),
    },
  };
  return {
    ...signDocument(signer, body),
    openings: {
      parties,
      amounts,
      ...(template ? { template } : {}),
      ledgerSalt,
      ...(chain ? { chainReceiptSalt: chain.salt } : {}),
    },
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
  for (const field of ['parties', 'amounts', 'template'] as const) {
    const open = openings?.[field];
    if (open && sealOf(open.salt, open.value) !== receipt.body.sealed[field])
      return {
        ok: false,
        reason: `receipt: the ${field} shown do not match the ${field} the operator signed`,
      };
  }
  return { ok: true };
}
