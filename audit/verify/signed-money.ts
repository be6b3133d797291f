import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { termsBodies, termsSignatureValid, type SignedTerms, type TermsBodyOf } from '../../lib/signed-terms';
import type { SignedBundle } from '../bundle';
import { callsOfSubject } from '../deal-facts';
import { readHistory, type ActivityCall } from '../history-json';
import { finding, fromProblems, skipped, type CheckResult } from './report';

const CHECK = "money against the payer's signed terms";
const MONEY_ACTIVITIES = new Set([
  'lockEscrow',
  'releaseEscrow',
  'refundEscrow',
  'releasePart',
  'splitEscrow',
  'refundRemainder',
]);

/** What the payer signed for one escrow: the amount, the fee, and each payout's payee and amount. */
interface Signed {
  payerId: string;
  amount?: string;
  feeBps?: number;
  payouts: Map<string, { payeeId?: string; amount?: string }>;
}

function signedFor(terms: SignedTerms, escrowId: string): Signed | string {
  const ref = parseEscrowId(escrowId);
  const base = { payerId: terms.signer };
  const body = termsBodies[terms.kind].safeParse(terms.body);
  if (!ref || !body.success) return `escrow ${escrowId} is not one the ${terms.kind} terms can name`;
  switch (terms.kind) {
    case 'cohort_query': {
      const b = body.data as TermsBodyOf<'cohort_query'>;
      const payout = { payeeId: b.sellerId, amount: b.price };
      return { ...base, amount: b.price, feeBps: b.feeBps, payouts: new Map([['whole', payout]]) };
    }
    case 'multi_seller': {
      const b = body.data as TermsBodyOf<'multi_seller'>;
      const share = ref.kind === 'share' ? b.sellers.find((s) => s.sellerId === ref.sellerId) : undefined;
      if (!share) return `the buyer signed no share for escrow ${escrowId}`;
      const payout = { payeeId: share.sellerId, amount: share.price };
      return { ...base, amount: share.price, feeBps: b.feeBps, payouts: new Map([['whole', payout]]) };
    }
    case 'subscription': {
      const b = body.data as TermsBodyOf<'subscription'>;
      const payout = { payeeId: b.queries[0]?.sellerId, amount: b.pricePerPeriod };
      return { ...base, amount: b.pricePerPeriod, feeBps: b.feeBps, payouts: new Map([['whole', payout]]) };
    }
    case 'grant': {
      const b = body.data as TermsBodyOf<'grant'>;
      const payouts = new Map(
        b.milestones.map((m) => [m.milestoneId, { payeeId: b.granteeId, amount: m.amount }]),
      );
      return { ...base, amount: b.total, feeBps: b.feeBps, payouts };
    }
  }
}

/** Each way a completed move of money differs from what the payer signed. */
function moveProblems(call: ActivityCall, signed: Signed, escrowId: string): string[] {
  const input = call.input[0] as Record<string, unknown>;
  const problems: string[] = [];
  const shown = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));
  const differ = (what: string, moved: unknown, agreed: unknown) => {
    const move = `${escrowId}: ${call.activityType} moved ${what} ${shown(moved)}`;
    if (agreed === undefined) problems.push(`${move}, which the payer never signed`);
    else if (moved !== agreed) problems.push(`${move}; the payer signed ${shown(agreed)}`);
  };
  const payer = input.buyerId ?? input.funderId;
  if (payer !== undefined && payer !== signed.payerId) differ('for payer', payer, signed.payerId);
  if (['lockEscrow', 'refundEscrow', 'splitEscrow'].includes(call.activityType))
    differ('an amount of', input.amount, signed.amount);
  if (['releaseEscrow', 'releasePart', 'splitEscrow'].includes(call.activityType)) {
    const partId = call.activityType === 'releasePart' ? String(input.partId) : 'whole';
    const payout = signed.payouts.get(partId);
    if (!payout) problems.push(`${escrowId}: payout ${partId} was never signed`);
    else {
      differ('to payee', input.sellerId ?? input.payeeId, payout.payeeId);
      if (call.activityType !== 'splitEscrow') differ('an amount of', input.amount, payout.amount);
    }
    const fee = input.feeBps;
    if (signed.feeBps !== undefined || fee !== 0) differ('a fee in bps of', fee, signed.feeBps);
  }
  return problems;
}

/**
 * Every lock, payout, refund and split the histories record is what the payer's signed terms say:
 * the terms verify under the key they name, the payer is their signer, and amount, fee and payee
 * are the signed ones. A lifecycle started with genuine terms but other money is a finding here.
 */
export function checkPayerTerms(bundle: SignedBundle): CheckResult[] {
  const calls = callsOfSubject(bundle.body.subject, bundle.body.runs).filter(
    (c) => c.completed && MONEY_ACTIVITIES.has(c.activityType),
  );
  if (calls.length === 0) return [skipped(CHECK, 'no money moved')];
  const input = readHistory(bundle.body.runs[0]!.history).input[0] as { terms?: SignedTerms } | undefined;
  const terms = input?.terms;
  if (!terms) return [finding(CHECK, 'money moved, but the history holds no terms the payer signed')];
  if (!termsSignatureValid(terms))
    return [finding(CHECK, `the terms are not signed by the key they name (signer ${terms.signer})`)];
  const problems: string[] = [];
  for (const call of calls) {
    const escrowId = String((call.input[0] as { dealId?: unknown } | undefined)?.dealId);
    const signed = signedFor(terms, escrowId);
    if (typeof signed === 'string') problems.push(signed);
    else problems.push(...moveProblems(call, signed, escrowId));
  }
  return fromProblems(CHECK, problems, `${calls.length} moves of money, each as ${terms.signer} signed`);
}
