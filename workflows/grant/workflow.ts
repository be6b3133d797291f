import type { SignedTerms } from '../../lib/signed-terms';
import { condition, defineQuery, defineUpdate, patched, setHandler } from '@temporalio/workflow';
import type { MilestoneCheckActivities } from '../../activities/perimeter/milestone-check';
import { grantEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import {
  coordinatorNotify,
  perimeterQuery,
  settlementLock,
  settlementPayout,
  settlementTx,
} from '../activity-options';
import { settleGuarded, handleOperatorRetry } from '../guarded-settlement';
import { problemOf } from '../activity-problem';
import { GrantState, type GrantStatus, type MilestoneGrantInput, type MilestoneStatus } from './state';
import { notifyBestEffort } from '../notify';
import type {
  ApproveMilestoneRequest,
  ConsentRemainderRequest,
  ExtendDeadlineRequest,
  SubmitEvidenceRequest,
} from './shapes';
import type { DecisionAction, ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { assertDecides, asRefusal, scopeOf, termsHashOf, verifiedSigner } from '../verified-decision';
import { coordinatorActivities, perimeterActivities, settlementActivities } from '../activity-proxies';
import { milestoneGrantInput } from './shapes';
import { checkWorkflowInput } from '../workflow-input';

export type {
  SubmitEvidenceRequest,
  ApproveMilestoneRequest,
  ExtendDeadlineRequest,
  ConsentRemainderRequest,
} from './shapes';

export const grantStatusQuery = defineQuery<GrantStatus>('grantStatus');
export const submitEvidenceUpdate = defineUpdate<GrantStatus, [SubmitEvidenceRequest]>('submitEvidence');
export const approveMilestoneUpdate = defineUpdate<GrantStatus, [ApproveMilestoneRequest]>(
  'approveMilestone',
);
export const extendDeadlineUpdate = defineUpdate<GrantStatus, [ExtendDeadlineRequest]>('extendDeadline');
export const consentRemainderUpdate = defineUpdate<GrantStatus, [ConsentRemainderRequest]>(
  'consentRemainder',
);

/**
 * A research grant: the sponsor funds the total into escrow; each milestone met (by a threshold
 * checked in the seller's perimeter, or by the sponsor's approval) releases its tranche to the
 * grantee; the first missed deadline ends the grant and refunds the rest to the sponsor.
 */
export async function milestoneGrant(input: MilestoneGrantInput): Promise<GrantStatus> {
  checkWorkflowInput(milestoneGrantInput, input, 'grant');
  const grant = new GrantState(input);
  setHandler(grantStatusQuery, () => grant.snapshot());
  // Each decision must be signed by the party the grant names, over this run and the sponsor's terms.
  const expected =
    (action: DecisionAction, principal: string) =>
    (content: unknown): ExpectedDecision => ({ scope: grant.scope, action, principal, content });
  const evidenceOf = (signed?: SignedDecision<{ milestoneId: string; ref: string }>) =>
    expected(
      'grant_evidence',
      input.granteeId,
    )({
      milestoneId: signed?.statement?.content?.milestoneId,
      ref: signed?.statement?.content?.ref,
    });
  const approvalOf = (signed?: SignedDecision<{ milestoneId: string }>) =>
    expected('milestone_approval', input.sponsorId)({ milestoneId: signed?.statement?.content?.milestoneId });
  const extensionOf = (signed?: SignedDecision<{ milestoneId: string; deadline: number }>) =>
    expected(
      'deadline_extension',
      input.sponsorId,
    )({
      milestoneId: signed?.statement?.content?.milestoneId,
      deadline: signed?.statement?.content?.deadline,
    });
  setHandler(
    submitEvidenceUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, evidenceOf(signed));
      const { milestoneId, ref } = signed.statement.content;
      asRefusal(() => grant.submitEvidence(by.principal, milestoneId, ref, Date.now()));
      return grant.snapshot();
    },
    {
      validator: ({ signed }: SubmitEvidenceRequest) => {
        assertDecides(signed, evidenceOf(signed));
        const { milestoneId } = signed.statement.content;
        grant.assertCanSubmitEvidence(signed.statement.principal, milestoneId, Date.now());
        grant.assertRoomForEvidence(milestoneId);
      },
    },
  );
  setHandler(
    approveMilestoneUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, approvalOf(signed));
      asRefusal(() => grant.approve(by.principal, signed.statement.content.milestoneId, Date.now(), signed));
      return grant.snapshot();
    },
    {
      validator: ({ signed }: ApproveMilestoneRequest) => {
        assertDecides(signed, approvalOf(signed));
        grant.assertCanApprove(signed.statement.principal, signed.statement.content.milestoneId, Date.now());
      },
    },
  );
  setHandler(
    extendDeadlineUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, extensionOf(signed));
      const { milestoneId, deadline } = signed.statement.content;
      asRefusal(() => grant.extend(by.principal, milestoneId, deadline, Date.now(), signed));
      return grant.snapshot();
    },
    {
      validator: ({ signed }: ExtendDeadlineRequest) => {
        assertDecides(signed, extensionOf(signed));
        const { milestoneId, deadline } = signed.statement.content;
        grant.assertCanExtend(signed.statement.principal, milestoneId, deadline, Date.now());
      },
    },
  );

  const remainderConsentOf = (signed?: SignedDecision<{ amount: string }>) =>
    expected('remainder_consent', input.granteeId)({ amount: signed?.statement?.content?.amount });
  setHandler(
    consentRemainderUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, remainderConsentOf(signed));
      asRefusal(() => grant.consentToRemainder(by.principal, signed));
      return grant.snapshot();
    },
    {
      validator: ({ signed }: ConsentRemainderRequest) => {
        assertDecides(signed, remainderConsentOf(signed));
        grant.assertCanConsentToRemainder(signed.statement.principal, signed.statement.content.amount);
      },
    },
  );

  handleOperatorRetry(grant.attention);
  const escrowOpen = settlementActivities(settlementTx);
  const escrowLock = settlementActivities(settlementLock);
  // A payout that keeps failing waits for the operator's retry, listed in the grant's status.
  const settle = (step: string, run: () => Promise<unknown>) =>
    settleGuarded([{ step, run }], grant.attention, () => undefined);
  const payout = settlementActivities(settlementPayout);
  const coordinator = coordinatorActivities(coordinatorNotify);
  const { grantId, sponsorId, granteeId, feeBps, terms } = input;
  // Settlement checks every move below against the sponsor's signed terms: unsigned, nothing is locked.
  const escrowOfGrant = grantEscrowId(grantId, termsNonceOf(terms));

  // Decisions are bound to the sponsor's terms: their hash is taken before any decision counts.
  grant.setScope(scopeOf({ id: grantId, termsHash: await termsHashOf(input.terms) }));
  const funding = {
    dealId: escrowOfGrant,
    buyerId: sponsorId,
    amount: grant.snapshot().total,
    // A grant that would pay another grantee or fee than the sponsor signed locks nothing.
    payeeId: granteeId,
    feeBps,
    terms,
  };
  let opened = false;
  try {
    // The sponsor pays the total into the grant's escrow from its own wallet.
    grant.awaitFunding((await escrowOpen.openEscrow(funding)).escrowAddress);
    opened = true;
    await escrowLock.lockEscrow(funding);
  } catch (error) {
    grant.fundingFailed(problemOf(error));
    // An escrow settlement refused to open was never shown to the sponsor: nothing can arrive late.
    // Patch `no-late-watch-unopened` (signed money, issue 20): runs from before still watch.
    if (opened || !patched('no-late-watch-unopened'))
      await settle('return-late-payment', () =>
        escrowLock.returnLatePayments({ dealId: escrowOfGrant, payerId: sponsorId, terms }),
      );
    return grant.snapshot();
  }
  grant.funded();

  for (;;) {
    // Taken before the work: evidence or approvals arriving meanwhile wake the wait below at once.
    const seen = grant.changes;
    // The grantee gave the rest back: nothing more is checked or paid.
    if (grant.remainderConsented) break;
    for (const milestone of grant.toCheck()) await checkInPerimeter(grant, milestone, grantId, input.terms);
    for (const milestone of grant.toRelease()) {
      const { milestoneId, amount } = milestone;
      let unproven: { code: string } | undefined;
      await settle(`release:${milestoneId}`, async () => {
        try {
          await payout.releasePart({
            dealId: escrowOfGrant,
            partId: milestoneId,
            payeeId: granteeId,
            amount,
            feeBps,
            terms,
            proof: grant.trancheProof(milestoneId),
          });
        } catch (error) {
          // Refused for want of the deciding party's signature: not met, rather than waiting on a retry.
          if (problemOf(error).code !== 'TrancheUnproven') throw error;
          unproven = problemOf(error);
        }
      });
      if (unproven) {
        grant.trancheRefused(milestoneId, unproven, Date.now());
        continue;
      }
      grant.released(milestoneId, Date.now());
      await notifyBestEffort(coordinator, granteeId, grantId, 'milestone_released');
    }
    if (grant.remainderConsented || grant.expireDeadlines(Date.now()) || grant.allReleased) break;
    const deadline = grant.nextDeadline();
    if (deadline === undefined) await condition(() => grant.changes !== seen);
    else await condition(() => grant.changes !== seen, Math.max(1, deadline - Date.now()));
  }

  let refunded = '0';
  await settle('refund-remainder', async () => {
    // Settlement returns it only past the latest deadline the sponsor signed, or on the grantee's consent.
    const decisions = grant.remainderDecisions();
    refunded = (
      await payout.refundRemainder({ dealId: escrowOfGrant, funderId: sponsorId, terms, ...decisions })
    ).amount;
  });
  grant.close(refunded);
  await notifyBestEffort(coordinator, sponsorId, grantId, 'grant_ended');
  return grant.snapshot();
}

/** Only met / not met comes back from the perimeter; a refused check counts as not met, with its code. */
async function checkInPerimeter(
  grant: GrantState,
  milestone: MilestoneStatus,
  grantId: string,
  terms: SignedTerms,
): Promise<void> {
  const check = milestone.check;
  if (check.kind !== 'query') return;
  const perimeter = perimeterActivities<MilestoneCheckActivities>(check.sellerId, perimeterQuery);
  try {
    const result = await perimeter.checkMilestone({
      grantId,
      milestoneId: milestone.milestoneId,
      // One check per evidence submitted: a retried activity carries the same id.
      checkId: String(milestone.evidence.length),
      templateId: check.templateId,
      templateHash: check.templateHash,
      parameters: check.parameters,
      metric: check.metric,
      threshold: check.threshold,
      terms,
    });
    grant.recordCheck(milestone.milestoneId, result, Date.now());
  } catch (error) {
    grant.recordCheck(milestone.milestoneId, { met: false, problem: problemOf(error).code }, Date.now());
  }
}
