import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { CoordinatorActivities } from '../../activities/coordinator/activities';
import { coordinatorRecord } from '../activity-options';
import { asRefusal, verifiedVoter } from '../verified-decision';
import { DisputeState, type DisputeInput, type DisputeOutcome, type DisputeStatus } from './state';

export const disputeStatusQuery = defineQuery<DisputeStatus>('disputeStatus');
export interface NameReviewerRequest {
  reviewerId: string;
  namedBy: string;
}
export interface AddEvidenceRequest {
  by: string;
  /** Blob reference of the evidence document. */
  ref: string;
}
export interface EvidenceReadRequest {
  by: string;
  refs: string[];
}
export interface ApproveOutcomeRequest {
  principal: string;
  outcome: DisputeOutcome;
  /** The principal's Ed25519 signature over (this workflow's id, outcome): lib/signed-decision. */
  signature: string;
}

export const nameReviewerUpdate = defineUpdate<DisputeStatus, [NameReviewerRequest]>('nameReviewer');
export const addEvidenceUpdate = defineUpdate<DisputeStatus, [AddEvidenceRequest]>('addDisputeEvidence');
/** The API records each read of the evidence before it hands the evidence over. */
export const recordEvidenceReadUpdate = defineUpdate<DisputeStatus, [EvidenceReadRequest]>(
  'recordEvidenceRead',
);
export const approveOutcomeUpdate = defineUpdate<DisputeStatus, [ApproveOutcomeRequest]>(
  'approveDisputeOutcome',
);

export interface DisputeResolution {
  outcome: DisputeOutcome;
  resolvedBy: 'approvals' | 'timeout';
  /** Blob reference of the dispute's audit record. */
  auditRef: string;
}

/**
 * A dispute of a delivered deal (a child of the deal's workflow): a named reviewer reads the
 * evidence for a limited time, both parties add evidence, and two distinct compliance principals
 * approving the same outcome resolve it; otherwise the default outcome applies at the timeout.
 * The parent settles the escrow by the outcome.
 */
export async function dispute(input: DisputeInput): Promise<DisputeResolution> {
  const state = new DisputeState(input, Date.now());
  setHandler(disputeStatusQuery, () => state.snapshot());
  setHandler(
    nameReviewerUpdate,
    ({ reviewerId, namedBy }) => {
      state.nameReviewer(reviewerId, namedBy, input.reviewerAccessMs, Date.now());
      return state.snapshot();
    },
    { validator: ({ reviewerId }: NameReviewerRequest) => state.assertCanNameReviewer(reviewerId) },
  );
  setHandler(
    addEvidenceUpdate,
    ({ by, ref }) => {
      state.addEvidence(by, ref, Date.now());
      return state.snapshot();
    },
    {
      validator: ({ by }: AddEvidenceRequest) => {
        state.assertCanAddEvidence(by);
        state.assertRoomForEvidence();
      },
    },
  );
  setHandler(
    recordEvidenceReadUpdate,
    ({ by, refs }) => {
      state.recordEvidenceRead(by, refs, Date.now());
      return state.snapshot();
    },
    {
      validator: ({ by }: EvidenceReadRequest) => {
        state.assertReviewerAccess(by, Date.now());
        state.assertRoomForRead();
      },
    },
  );
  setHandler(
    approveOutcomeUpdate,
    async ({ principal, outcome, signature }) => {
      const voter = await verifiedVoter(principal, outcome, signature);
      asRefusal(() => state.approve(voter, outcome, Date.now()));
      return state.snapshot();
    },
    {
      validator: ({ principal, outcome }: ApproveOutcomeRequest) =>
        state.assertCanApprove({ principal }, outcome),
    },
  );

  while (!state.resolved) {
    const seen = state.changes;
    await condition(() => state.changes !== seen, Math.max(1, state.nextDeadline() - Date.now()));
    state.tick(Date.now(), input.defaultOutcome);
  }
  // Approvals still being verified are refused by the resolved state, not left hanging.
  await condition(allHandlersFinished);

  const coordinator = proxyActivities<CoordinatorActivities>({
    taskQueue: 'coordinator',
    ...coordinatorRecord,
  });
  const final = state.snapshot();
  const auditRef = await coordinator.storeAuditRecord({
    kind: 'dispute',
    subject: input.dealId,
    events: final.audit,
  });
  return { outcome: final.outcome!, resolvedBy: final.resolvedBy!, auditRef };
}
