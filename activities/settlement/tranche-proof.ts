import type { RegisteredKeys } from '../../lib/key-log';
import { payerRole } from '../../lib/key-log';
import { releaseStatement, releaseStatementProblems } from '../../lib/release-statement';
import {
  decisionMismatch,
  decisionSignatureValid,
  type DecisionScope,
  type SignedDecision,
} from '../../lib/signed-decision';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { SettlementRefusedError } from './port';
import { verifiedPaymentTerms } from './signed-payment';

/**
 * Why a grant's tranche may be paid, signed by the party who decides it: the seller's perimeter's
 * statement of a query milestone's verdict, or the sponsor's decision approving an approval milestone.
 */
export type TrancheProof =
  | { kind: 'verdict'; release?: unknown }
  | { kind: 'approval'; signed?: SignedDecision<{ milestoneId: string }> };

/** The tranche asked for, as the settlement activity received it. */
export interface TrancheRequest {
  partId: string;
  terms: SignedTerms;
  proof?: TrancheProof;
}

const unproven = (reason: string): never => {
  throw new SettlementRefusedError('TrancheUnproven', reason);
};

type SignedMilestone = ReturnType<typeof verifiedPaymentTerms<'grant'>>['milestones'][number];

/**
 * The seller's perimeter said "met" for this milestone of these terms, under the perimeter key the
 * transparency log registers for the seller the sponsor signed (or, where the terms name none, the
 * seller the statement names: a perimeter signs only for its own seller's signed templates).
 */
async function requireVerdict(
  grantId: string,
  milestone: SignedMilestone,
  terms: SignedTerms,
  release: unknown,
  keys: RegisteredKeys,
): Promise<void> {
  const parsed = releaseStatement.safeParse(release);
  if (!parsed.success)
    return unproven(
      `milestone ${milestone.milestoneId}: no statement signed by the seller's perimeter says it is met`,
    );
  const { body } = parsed.data;
  const signedSeller = milestone.check.kind === 'query' ? milestone.check.sellerId : undefined;
  const sellerId = signedSeller ?? body.sellerId;
  if (body.sellerId !== sellerId)
    return unproven(`the verdict is ${body.sellerId}'s; the sponsor signed a check by ${sellerId}`);
  const perimeter = await keys.currentKey(sellerId, 'perimeter');
  if (!perimeter) return unproven(`the transparency log registers no perimeter key for ${sellerId}`);
  const problems = releaseStatementProblems(parsed.data, {
    perimeterKey: perimeter.publicKey,
    dealId: grantId,
    kind: 'milestone_verdict',
    // What was checked is the perimeter's to commit to; settlement needs the verdict, bound below.
    commitment: body.commitment,
    termsHash: termsHashOf(terms),
    subject: { milestoneId: milestone.milestoneId, checkId: body.subject?.checkId ?? '', met: true },
  });
  if (problems.length > 0)
    unproven(`milestone ${milestone.milestoneId}: the verdict is not the seller's: ${problems.join('; ')}`);
}

/**
 * The sponsor approved this milestone, for this very run (Temporal names the run that asks) and these
 * terms, under the key the log registers for it. Its expiry is not checked here: it bounds when the
 * workflow may count the approval, and a payout retried later pays what was counted in time.
 */
async function requireApproval(
  milestoneId: string,
  terms: SignedTerms,
  signed: SignedDecision<{ milestoneId: string }> | undefined,
  asking: { workflowId: string; runId: string } | undefined,
  keys: RegisteredKeys,
): Promise<void> {
  const statement = signed?.statement;
  if (!statement || typeof signed.signature !== 'string' || !asking)
    return unproven(`milestone ${milestoneId}: no approval signed by the sponsor comes with it`);
  const grantId = String(terms.body.grantId);
  const scope: DecisionScope = { ...asking, subject: { id: grantId, termsHash: termsHashOf(terms) } };
  const expected = {
    scope,
    action: 'milestone_approval' as const,
    principal: terms.signer,
    content: { milestoneId },
  };
  const mismatch = decisionMismatch({ ...statement, notAfter: Number.MAX_SAFE_INTEGER }, expected, 0);
  if (mismatch) unproven(`milestone ${milestoneId}: the approval does not decide this payout: ${mismatch}`);
  const sponsor = await keys.currentKey(terms.signer);
  if (!sponsor || sponsor.role !== payerRole('grant'))
    return unproven(`the transparency log registers no sponsor key for ${terms.signer}`);
  if (!decisionSignatureValid(sponsor.publicKey, signed))
    unproven(`milestone ${milestoneId}: the approval is not signed by ${terms.signer}'s registered key`);
}

/**
 * Refuses (TrancheUnproven) a grant tranche no signature of the deciding party vouches for: the check
 * kind is the one the sponsor signed, so an operator can neither skip a query check nor swap kinds.
 */
export async function requireTrancheProof(
  request: TrancheRequest,
  keys: RegisteredKeys,
  asking: { workflowId: string; runId: string } | undefined,
): Promise<void> {
  const body = verifiedPaymentTerms(request.terms, 'grant');
  const milestone = body.milestones.find((m) => m.milestoneId === request.partId);
  if (!milestone) return unproven(`the sponsor signed no milestone ${request.partId}`);
  const proof = request.proof;
  if (milestone.check.kind === 'query')
    return requireVerdict(
      body.grantId,
      milestone,
      request.terms,
      proof?.kind === 'verdict' ? proof.release : undefined,
      keys,
    );
  return requireApproval(
    milestone.milestoneId,
    request.terms,
    proof?.kind === 'approval' ? proof.signed : undefined,
    asking,
    keys,
  );
}
