import type {
  ExtensionLeaves,
  ExtensionLog,
  KeyHistory,
  RegisteredKeys,
  ReleaseLog,
} from '../../lib/key-log';
import { decisionMismatch, decisionSignatureValid, type SignedDecision } from '../../lib/signed-decision';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import type { DeliveryRecords } from './acceptance';
import { requireVotes, type VotedOutcome } from './dispute-votes';
import { SettlementRefusedError } from './port';
import { requireUndeliveredRefund } from './refund-proof';
import { signedEscrowOf, verifiedPaymentTerms, WHOLE } from './signed-payment';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { consentCheckTime, recordConsentAccepted } from './consent-acceptance';
import {
  extendByLoggedExtensions,
  loggedLeafOf,
  remainderConsentProblem,
  signedDeadlines,
} from './remainder-terms';

/**
 * Money given back to its payer is taken from the party who would otherwise be paid: settlement moves
 * it only on that party's side of the bargain. A delivered deal's (or share's) refund needs the
 * compliance principals' signed votes for `refund`; a split, their votes for exactly that split; a
 * grant's remainder, a milestone the grantee was not paid past its signed deadline.
 */
export interface ConsentDeps {
  /** The log's keys; and its releases, which a refund past `notAfter` is checked against. */
  keys: RegisteredKeys & Partial<ReleaseLog & ExtensionLog & ExtensionLeaves & KeyHistory>;
  records: DeliveryRecords;
  now: number;
}

/** What settlement records, per grant milestone, once it has paid it: the remainder counts it out. */
export const paidPartKey = (escrowId: string, partId: string) => `${escrowId}#paid:${partId}`;

/** A refund may carry the losing side's decision: the dispute's votes, or the seller's own consent. */
export interface RefundRequest {
  dealId: string;
  terms: SignedTerms;
  votes?: readonly SignedDecision[] | undefined;
  consent?: SignedDecision | undefined;
  /** An undelivered escrow's proof the buyer got nothing: the perimeter's signed refusal (./refund-proof.ts). */
  refusal?: unknown;
}

/**
 * What the payer's terms are about, as decisions name it: the deal, or the subscription (a period's
 * escrow id in the consent's content then names the period, so a consent for one period is refused
 * for another).
 */
const subjectIdOf = (terms: SignedTerms): string =>
  String(terms.body.dealId ?? terms.body.subscriptionId ?? terms.body.grantId);

/**
 * Why the seller's signed consent does not give this escrow back, or undefined when it does: the
 * payee of these terms signed `refund_consent` of this escrow for this deal and terms, under the key
 * the log registers for it as a seller, and it had not expired when settlement first accepted it for
 * this escrow (it speaks to settlement directly, so its expiry counts here; its run does not, as no
 * workflow counts it). A retry of the same refund after the expiry still carries it out.
 */
async function consentProblem(input: RefundRequest, deps: ConsentDeps): Promise<string | undefined> {
  const consent = input.consent!;
  const statement = consent?.statement;
  if (!statement || typeof consent.signature !== 'string') return "the seller's consent is not signed";
  const sellerId = signedEscrowOf(input.terms, input.dealId).payouts.get(WHOLE)!.payeeId;
  const mismatch = decisionMismatch(
    statement,
    {
      scope: {
        workflowId: String(statement.workflowId),
        runId: String(statement.runId),
        subject: { id: subjectIdOf(input.terms), termsHash: termsHashOf(input.terms) },
      },
      action: 'refund_consent',
      principal: sellerId,
      content: { escrowId: input.dealId },
    },
    await consentCheckTime(deps.records, input.dealId, consent, deps.now),
  );
  if (mismatch) return `the seller's consent does not give this escrow back: ${mismatch}`;
  const seller = await deps.keys.currentKey(sellerId);
  if (!seller || seller.role !== 'seller') return `${sellerId} is not a registered seller`;
  if (!decisionSignatureValid(seller.publicKey, consent))
    return `the consent is not signed by ${sellerId}'s registered key`;
  await recordConsentAccepted(deps.records, input.dealId, consent, deps.now);
  return undefined;
}

/**
 * A refund of an escrow settlement has recorded as delivered (the perimeter's signed release) is the
 * seller's loss: refused (RefundUnsigned) without the seller's signed consent or two compliance votes
 * for `refund` on this deal. One never delivered goes back on proof that the buyer got nothing: the
 * perimeter's signed refusal, or the buyer's signed expiry passed (./refund-proof.ts, RefundUnproven).
 */
export async function requireRefundConsent(input: RefundRequest, deps: ConsentDeps): Promise<void> {
  const deliveredAt = await deps.records.deliveredAt(input.dealId);
  // Without a delivery record, the losing side's signatures still decide it when they come with it.
  if (deliveredAt === undefined && input.consent === undefined && !input.votes?.length)
    return requireUndeliveredRefund(input, deps);
  if (input.consent !== undefined) {
    const problem = await consentProblem(input, deps);
    if (problem) throw new SettlementRefusedError('RefundUnsigned', problem);
    return;
  }
  await requireVotes(
    'RefundUnsigned',
    deliveredAt === undefined
      ? `a refund of ${input.dealId} with votes needs the seller's loss decided`
      : `settlement recorded the delivery of ${input.dealId} at ${new Date(deliveredAt).toISOString()}; a refund needs the seller's loss decided`,
    { terms: input.terms, outcome: { kind: 'refund' }, votes: input.votes, escrowId: input.dealId },
    deps.keys,
  );
}

/** The seller's part of a split of `sellerBps` (as workflows/dispute/state.ts `sellerShare` computes it). */
const sellerPart = (amount: string, sellerBps: number) => (BigInt(amount) * BigInt(sellerBps)) / 10_000n;

/**
 * A split is refused (SplitUnsigned) unless two compliance principals signed a split of exactly the
 * seller's share it pays: the basis points are read from the votes and the amount recomputed.
 */
export async function requireSplitVotes(
  input: {
    terms: SignedTerms;
    amount: string;
    sellerAmount: string;
    votes?: readonly SignedDecision[] | undefined;
  },
  keys: RegisteredKeys,
): Promise<void> {
  const voted = (input.votes?.[0]?.statement?.content as { outcome?: VotedOutcome } | undefined)?.outcome;
  if (
    voted?.kind !== 'split' ||
    !Number.isInteger(voted.sellerBps) ||
    voted.sellerBps < 0 ||
    voted.sellerBps > 10_000
  )
    throw new SettlementRefusedError('SplitUnsigned', 'no compliance vote for a split comes with it');
  if (sellerPart(input.amount, voted.sellerBps) !== BigInt(input.sellerAmount))
    throw new SettlementRefusedError(
      'SplitUnsigned',
      `the votes split ${voted.sellerBps} bps to the seller, not a seller share of ${input.sellerAmount.slice(0, 32)}`,
    );
  await requireVotes(
    'SplitUnsigned',
    'the split is not decided',
    { terms: input.terms, outcome: voted, votes: input.votes },
    keys,
  );
}

/**
 * A grant's remainder goes back to the sponsor only once the grant is over by its signed terms: every
 * milestone paid, or one not paid past its deadline (the sponsor's signed one, or a later one the
 * sponsor signed an extension to), on settlement's own clock (a missed milestone ends the grant); or
 * earlier with the grantee's signed consent to give back exactly what is unpaid. Otherwise refused
 * (RemainderNotDue): the grantee may still earn it.
 */
export async function requireRemainderDue(
  input: {
    dealId: string;
    terms: SignedTerms;
    consent?: SignedDecision | undefined;
    extensions?: readonly SignedDecision[] | undefined;
  },
  deps: ConsentDeps,
): Promise<void> {
  if (parseEscrowId(input.dealId)?.kind !== 'grant') return;
  const body = verifiedPaymentTerms(input.terms, 'grant');
  // A shown extension the sponsor's current key does not verify is judged at its leaf in the log.
  const leafOf = loggedLeafOf(input.terms, deps.keys);
  const deadlines = await signedDeadlines(input.terms, body.milestones, input.extensions, deps.keys, leafOf);
  await extendByLoggedExtensions(deadlines, input.terms, body.milestones, deps.keys);
  let unpaid = 0n;
  let unpaidCount = 0;
  for (const milestone of body.milestones) {
    if ((await deps.records.deliveredAt(paidPartKey(input.dealId, milestone.milestoneId))) !== undefined)
      continue;
    unpaidCount += 1;
    unpaid += BigInt(milestone.amount);
    const deadline = deadlines.get(milestone.milestoneId)!;
    if (Number.isFinite(deadline) && deps.now >= deadline) return;
  }
  if (unpaidCount === 0) return;
  if (input.consent !== undefined) {
    const problem = await remainderConsentProblem(
      { escrowId: input.dealId, terms: input.terms, consent: input.consent, unpaid: String(unpaid) },
      deps,
    );
    if (problem) throw new SettlementRefusedError('RemainderNotDue', problem);
    return;
  }
  throw new SettlementRefusedError(
    'RemainderNotDue',
    `no unpaid milestone of ${body.grantId} is past the deadline the sponsor signed, and the grantee did not consent: the grantee may still earn it`,
  );
}
