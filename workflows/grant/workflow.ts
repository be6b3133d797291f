import type { SignedTerms } from '../../lib/signed-terms';
import { condition, defineQuery, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { CoordinatorActivities } from '../../activities/coordinator/activities';
import type { MilestoneCheckActivities } from '../../activities/perimeter/milestone-check';
import { perimeterTaskQueue } from '../../activities/perimeter/types';
import type { SettlementActivities } from '../../activities/settlement/activities';
import { grantEscrowId } from '../../activities/settlement/types';
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

export interface SubmitEvidenceRequest {
  by: string;
  milestoneId: string;
  /** Blob reference of the evidence document. */
  ref: string;
}
export interface ApproveMilestoneRequest {
  by: string;
  milestoneId: string;
}
export interface ExtendDeadlineRequest {
  by: string;
  milestoneId: string;
  deadline: number;
}

export const grantStatusQuery = defineQuery<GrantStatus>('grantStatus');
export const submitEvidenceUpdate = defineUpdate<GrantStatus, [SubmitEvidenceRequest]>('submitEvidence');
export const approveMilestoneUpdate = defineUpdate<GrantStatus, [ApproveMilestoneRequest]>(
  'approveMilestone',
);
export const extendDeadlineUpdate = defineUpdate<GrantStatus, [ExtendDeadlineRequest]>('extendDeadline');

/**
 * A research grant: the sponsor funds the total into escrow; each milestone met (by a threshold
 * checked in the seller's perimeter, or by the sponsor's approval) releases its tranche to the
 * grantee; the first missed deadline ends the grant and refunds the rest to the sponsor.
 */
export async function milestoneGrant(input: MilestoneGrantInput): Promise<GrantStatus> {
  const grant = new GrantState(input);
  setHandler(grantStatusQuery, () => grant.snapshot());
  setHandler(
    submitEvidenceUpdate,
    ({ by, milestoneId, ref }) => {
      grant.submitEvidence(by, milestoneId, ref, Date.now());
      return grant.snapshot();
    },
    {
      validator: ({ by, milestoneId }: SubmitEvidenceRequest) => {
        grant.assertCanSubmitEvidence(by, milestoneId, Date.now());
        grant.assertRoomForEvidence(milestoneId);
      },
    },
  );
  setHandler(
    approveMilestoneUpdate,
    ({ by, milestoneId }) => {
      grant.approve(by, milestoneId, Date.now());
      return grant.snapshot();
    },
    {
      validator: ({ by, milestoneId }: ApproveMilestoneRequest) =>
        grant.assertCanApprove(by, milestoneId, Date.now()),
    },
  );
  setHandler(
    extendDeadlineUpdate,
    ({ by, milestoneId, deadline }) => {
      grant.extend(by, milestoneId, deadline, Date.now());
      return grant.snapshot();
    },
    {
      validator: ({ by, milestoneId, deadline }: ExtendDeadlineRequest) =>
        grant.assertCanExtend(by, milestoneId, deadline, Date.now()),
    },
  );

  handleOperatorRetry(grant.attention);
  const escrowOpen = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementTx });
  const escrowLock = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementLock });
  // A payout that keeps failing waits for the operator's retry, listed in the grant's status.
  const settle = (step: string, run: () => Promise<unknown>) =>
    settleGuarded([{ step, run }], grant.attention, () => undefined);
  const payout = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementPayout });
  const coordinator = proxyActivities<CoordinatorActivities>({
    taskQueue: 'coordinator',
    ...coordinatorNotify,
  });
  const { grantId, sponsorId, granteeId, feeBps } = input;
  const escrowOfGrant = grantEscrowId(grantId);

  const funding = { dealId: escrowOfGrant, buyerId: sponsorId, amount: grant.snapshot().total };
  try {
    // The sponsor pays the total into the grant's escrow from its own wallet.
    grant.awaitFunding((await escrowOpen.openEscrow(funding)).escrowAddress);
    await escrowLock.lockEscrow({ ...funding, terms: input.terms });
  } catch (error) {
    grant.fundingFailed(problemOf(error));
    await settle('return-late-payment', () =>
      escrowLock.returnLatePayments({ dealId: escrowOfGrant, payerId: sponsorId }),
    );
    return grant.snapshot();
  }
  grant.funded();

  for (;;) {
    // Taken before the work: evidence or approvals arriving meanwhile wake the wait below at once.
    const seen = grant.changes;
    for (const milestone of grant.toCheck()) await checkInPerimeter(grant, milestone, grantId, input.terms);
    for (const milestone of grant.toRelease()) {
      const { milestoneId, amount } = milestone;
      await settle(`release:${milestoneId}`, () =>
        payout.releasePart({
          dealId: escrowOfGrant,
          partId: milestoneId,
          payeeId: granteeId,
          amount,
          feeBps,
        }),
      );
      grant.released(milestoneId, Date.now());
      await notifyBestEffort(coordinator, granteeId, grantId, 'milestone_released');
    }
    if (grant.expireDeadlines(Date.now()) || grant.allReleased) break;
    const deadline = grant.nextDeadline();
    if (deadline === undefined) await condition(() => grant.changes !== seen);
    else await condition(() => grant.changes !== seen, Math.max(1, deadline - Date.now()));
  }

  let refunded = '0';
  await settle('refund-remainder', async () => {
    refunded = (await payout.refundRemainder({ dealId: escrowOfGrant, funderId: sponsorId })).amount;
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
  const perimeter = proxyActivities<MilestoneCheckActivities>({
    taskQueue: perimeterTaskQueue(check.sellerId),
    ...perimeterQuery,
  });
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
