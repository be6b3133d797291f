import {
  paymentTermsBodies,
  termsSignatureValid,
  type PaymentTermsOf,
  type SignedTerms,
  type TermsKind,
} from '../../lib/signed-terms';
import { SettlementRefusedError } from './port';
import { parseEscrowId, type EscrowRef } from '../../lib/ids/escrow-ids';
import { issuesOnOneLine } from '../../lib/zod-issues';

/**
 * What the payer's signed terms allow of one escrow: who pays, how much, the fee, and to whom each
 * payout goes. Settlement derives it from the verified terms and refuses every move it does not allow,
 * so an operator who starts a lifecycle with another price, fee, payee or id moves nothing.
 */
export interface SignedEscrow {
  payerId: string;
  amount: bigint;
  feeBps: number;
  /** Payouts by part: `whole` for a one-time release; a grant's milestone ids. */
  payouts: Map<string, { payeeId: string; amount: bigint }>;
  /** Ms since the epoch after which nothing more may be locked under these terms. */
  notAfter?: number;
  /** A deal's signed acceptance window (ms): a payout without the buyer's confirmation waits it out. */
  acceptanceWindowMs?: number;
  /** A deal's or a share's escrow: nothing is locked under terms that sign no acceptance window. */
  needsAcceptanceWindow?: boolean;
}

const windowOf = (seconds: number | undefined) =>
  seconds === undefined ? {} : { acceptanceWindowMs: seconds * 1000 };

export const WHOLE = 'whole';

/** A move of money the workflow asks for, as the settlement activity received it. */
export type MoneyMove =
  | {
      action: 'lock';
      escrowId: string;
      payerId: string;
      amount: string;
      /** What the lifecycle means to pay out of it, when it says: refused before anything is locked. */
      payeeId?: string;
      feeBps?: number;
    }
  | { action: 'release'; escrowId: string; payeeId: string; payerId?: string; amount: string; feeBps: number }
  | { action: 'refund'; escrowId: string; payerId: string; amount: string }
  | {
      action: 'release_part';
      escrowId: string;
      partId: string;
      payeeId: string;
      amount: string;
      feeBps: number;
    }
  | { action: 'refund_remainder'; escrowId: string; payerId: string }
  | {
      action: 'split';
      escrowId: string;
      splitId: string;
      payerId: string;
      payeeId: string;
      amount: string;
      sellerAmount: string;
      feeBps: number;
    }
  | { action: 'return_late'; escrowId: string; payerId: string };

const refused = (reason: string) => new SettlementRefusedError('TermsMismatch', reason);

/** The payer's terms, verified and read as money; refuses terms that are unsigned or say no money. */
export function verifiedPaymentTerms<K extends TermsKind>(
  terms: SignedTerms | undefined,
  kind: K,
): PaymentTermsOf<K> {
  if (!terms || typeof terms !== 'object')
    throw new SettlementRefusedError('TermsSignatureInvalid', 'no signed terms of the payer came with it');
  if (!termsSignatureValid(terms))
    throw new SettlementRefusedError(
      'TermsSignatureInvalid',
      `the terms are not signed by the key they name (signer ${String(terms.signer).slice(0, 64)})`,
    );
  if (terms.kind !== kind)
    throw refused(`the escrow is a ${kind}'s, the signed terms are ${terms.kind} terms`);
  const body = paymentTermsBodies[kind].safeParse(terms.body);
  if (!body.success)
    throw refused(`the signed ${kind} terms do not state the money: ${issuesOnOneLine(body.error, 'body')}`);
  return body.data as PaymentTermsOf<K>;
}

function sameId(what: string, escrowSays: string, signed: string): void {
  if (escrowSays !== signed)
    throw refused(`the escrow is for ${what} ${escrowSays}, the terms sign ${signed}`);
}

function sameNonce(ref: EscrowRef, nonce: string): void {
  if (ref.nonce !== nonce)
    throw refused(
      `the escrow ${ref.nonce ? 'names another nonce' : 'names no nonce'}: the terms sign ${nonce}`,
    );
}

const whole = (payeeId: string, amount: bigint) => new Map([[WHOLE, { payeeId, amount }]]);

/** What the verified terms allow for the escrow `escrowId` names. */
export function signedEscrowOf(terms: SignedTerms | undefined, escrowId: string): SignedEscrow {
  const ref = parseEscrowId(escrowId);
  if (!ref)
    throw new SettlementRefusedError('InvalidEscrowId', `${escrowId.slice(0, 80)} is not an escrow id`);
  switch (ref.kind) {
    case 'deal':
    case 'dispute': {
      const body = verifiedPaymentTerms(terms, 'cohort_query');
      sameId('deal', ref.dealId, body.dealId);
      sameNonce(ref, body.nonce);
      const amount = BigInt(body.price);
      return {
        payerId: terms!.signer,
        amount,
        feeBps: body.feeBps,
        payouts: whole(body.sellerId, amount),
        notAfter: Date.parse(body.notAfter),
        ...(ref.kind === 'deal'
          ? { needsAcceptanceWindow: true, ...windowOf(body.acceptanceWindowSeconds) }
          : {}),
      };
    }
    case 'share': {
      const body = verifiedPaymentTerms(terms, 'multi_seller');
      sameId('deal', ref.dealId, body.dealId);
      sameNonce(ref, body.nonce);
      const total = body.sellers.reduce((sum, s) => sum + BigInt(s.price), 0n);
      if (total !== BigInt(body.price))
        throw refused(`the signed shares add up to ${total}, the signed price is ${body.price}`);
      const share = body.sellers.find((s) => s.sellerId === ref.sellerId);
      if (!share) throw refused(`the terms sign no share for seller ${ref.sellerId}`);
      return {
        payerId: terms!.signer,
        amount: BigInt(share.price),
        feeBps: body.feeBps,
        payouts: whole(share.sellerId, BigInt(share.price)),
        notAfter: Date.parse(body.notAfter),
        needsAcceptanceWindow: true,
        ...windowOf(body.acceptanceWindowSeconds),
      };
    }
    case 'period':
      return signedPeriod(terms, ref);
    case 'grant':
      return signedGrant(terms, ref);
  }
}

function signedPeriod(terms: SignedTerms | undefined, ref: EscrowRef & { kind: 'period' }): SignedEscrow {
  const body = verifiedPaymentTerms(terms, 'subscription');
  sameId('subscription', ref.subscriptionId, body.subscriptionId);
  sameNonce(ref, body.nonce);
  if (ref.period > body.periods)
    throw refused(`period ${ref.period} is past the ${body.periods} periods the subscriber signed`);
  const sellers = new Set(body.queries.map((q) => q.sellerId));
  const [sellerId] = sellers;
  if (sellers.size !== 1 || sellerId === undefined)
    throw refused('the signed subscription names no single seller to pay');
  const amount = BigInt(body.pricePerPeriod);
  // The window bounds when the subscription may start; later periods are bounded by their count.
  return {
    payerId: terms!.signer,
    amount,
    feeBps: body.feeBps,
    payouts: whole(sellerId, amount),
    ...(ref.period === 1 ? { notAfter: Date.parse(body.notAfter) } : {}),
  };
}

function signedGrant(terms: SignedTerms | undefined, ref: EscrowRef & { kind: 'grant' }): SignedEscrow {
  const body = verifiedPaymentTerms(terms, 'grant');
  sameId('grant', ref.grantId, body.grantId);
  sameNonce(ref, body.nonce);
  const total = body.milestones.reduce((sum, m) => sum + BigInt(m.amount), 0n);
  if (total !== BigInt(body.total))
    throw refused(`the signed milestones add up to ${total}, the signed total is ${body.total}`);
  return {
    payerId: terms!.signer,
    amount: total,
    feeBps: body.feeBps,
    payouts: new Map(
      body.milestones.map((m) => [m.milestoneId, { payeeId: body.granteeId, amount: BigInt(m.amount) }]),
    ),
  };
}

function samePayer(signed: SignedEscrow, payerId: string): void {
  if (payerId !== signed.payerId)
    throw refused(`the terms are ${signed.payerId}'s: ${payerId} neither pays nor is refunded under them`);
}

function sameAmount(what: string, asked: string, signed: bigint): void {
  if (!/^[0-9]{1,31}$/.test(asked) || BigInt(asked) !== signed)
    throw refused(`${what} of ${String(asked).slice(0, 32)} asked; the payer signed ${signed}`);
}

function sameFee(asked: number, signed: number): void {
  if (asked !== signed) throw refused(`a fee of ${asked} bps asked; the payer signed ${signed} bps`);
}

function samePayout(signed: SignedEscrow, partId: string, payeeId: string, amount: string): void {
  const payout = signed.payouts.get(partId);
  if (!payout) throw refused(`the payer signed no payout ${partId}`);
  if (payeeId !== payout.payeeId)
    throw refused(`a payout to ${payeeId} asked; the payer signed ${payout.payeeId}`);
  sameAmount('a payout', amount, payout.amount);
}

/**
 * Refuses (TermsMismatch, TermsSignatureInvalid) any move the payer's signed terms do not say, at `now`
 * (ms since the epoch). Pure: the settlement activity calls it before the adapter moves anything.
 */
export function assertSignedMove(move: MoneyMove, terms: SignedTerms | undefined, now: number): void {
  const signed = signedEscrowOf(terms, move.escrowId);
  switch (move.action) {
    case 'lock':
      samePayer(signed, move.payerId);
      sameAmount('a lock', move.amount, signed.amount);
      if (signed.notAfter !== undefined && !(now <= signed.notAfter))
        throw refused(`the terms expired at ${new Date(signed.notAfter).toISOString()}: nothing is locked`);
      if (signed.needsAcceptanceWindow && signed.acceptanceWindowMs === undefined)
        throw refused(
          'the terms sign no acceptanceWindowSeconds: the operator would choose it; nothing is locked',
        );
      if (move.feeBps !== undefined) sameFee(move.feeBps, signed.feeBps);
      if (move.payeeId !== undefined)
        for (const payout of signed.payouts.values())
          if (payout.payeeId !== move.payeeId)
            throw refused(`a payout to ${move.payeeId} is planned; the payer signed ${payout.payeeId}`);
      return;
    case 'release':
      if (move.payerId !== undefined) samePayer(signed, move.payerId);
      samePayout(signed, WHOLE, move.payeeId, move.amount);
      sameFee(move.feeBps, signed.feeBps);
      return;
    case 'refund':
      samePayer(signed, move.payerId);
      sameAmount('a refund', move.amount, signed.amount);
      return;
    case 'release_part':
      samePayout(signed, move.partId, move.payeeId, move.amount);
      sameFee(move.feeBps, signed.feeBps);
      return;
    case 'refund_remainder':
    case 'return_late':
      samePayer(signed, move.payerId);
      return;
    case 'split':
      return assertSignedSplit(move, signed, terms);
  }
}

/** A dispute's split pays the signed seller at the signed fee and conserves the signed price. */
function assertSignedSplit(
  move: MoneyMove & { action: 'split' },
  signed: SignedEscrow,
  terms: SignedTerms | undefined,
): void {
  const split = signedEscrowOf(terms, move.splitId);
  if (parseEscrowId(move.splitId)?.kind !== 'dispute' || parseEscrowId(move.escrowId)?.kind !== 'deal')
    throw refused('a split is of a deal escrow, named as its dispute');
  samePayer(signed, move.payerId);
  sameAmount('a split', move.amount, signed.amount);
  const payee = signed.payouts.get(WHOLE)!;
  if (move.payeeId !== payee.payeeId)
    throw refused(`a split paying ${move.payeeId} asked; the payer signed ${payee.payeeId}`);
  if (!/^[0-9]{1,31}$/.test(move.sellerAmount) || BigInt(move.sellerAmount) > split.amount)
    throw refused(
      `a seller share of ${move.sellerAmount.slice(0, 32)} exceeds the signed price ${split.amount}`,
    );
  sameFee(move.feeBps, signed.feeBps);
}
