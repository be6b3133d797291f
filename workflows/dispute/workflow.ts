import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  patched,
  setHandler,
} from '@temporalio/workflow';
import { coordinatorRecord } from '../activity-options';
import type { DecisionAction, ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { asRefusal, assertDecides, scopeOf, termsHashOf, verifiedSigner } from '../verified-decision';
import {
  DisputeState,
  outcomeKey,
  REVIEWER_ROLES,
  type DisputeInput,
  type DisputeOutcome,
  type DisputeStatus,
} from './state';
import { coordinatorActivities } from '../activity-proxies';
import type { DisputeResolvedBy } from './shapes';
import { disputeInput } from './shapes';
import { checkWorkflowInput } from '../workflow-input';

export const disputeStatusQuery = defineQuery<DisputeStatus>('disputeStatus');
/** Compliance (or the operator) names a reviewer, signed by whoever names it. */
export interface NameReviewerRequest {
  signed: SignedDecision<{ reviewerId: string }>;
}
/** The buyer or the seller adds evidence (its blob reference), signed by that party. */
export interface AddEvidenceRequest {
  signed: SignedDecision<{ ref: string }>;
}
/** The named reviewer's signed read, used once (its nonce); `refs` is what the API hands over. */
export interface EvidenceReadRequest {
  signed: SignedDecision<{ nonce: string }>;
  refs: string[];
}
/** A compliance principal's signed approval of an outcome on this run. */
export interface ApproveOutcomeRequest {
  signed: SignedDecision<{ outcome: DisputeOutcome }>;
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
/** The seller's signed `refund_consent` of the deal's escrow (its status's `escrowId`) on this run. */
export interface ConcedeRequest {
  signed: SignedDecision<{ escrowId: string }>;
}
/** The seller concedes: the dispute resolves as a refund, and settlement gets its signed consent. */
export const concedeUpdate = defineUpdate<DisputeStatus, [ConcedeRequest]>('concedeDispute');

export interface DisputeResolution {
  outcome: DisputeOutcome;
  resolvedBy: DisputeResolvedBy;
  /** Blob reference of the dispute's audit record. */
  auditRef: string;
  /**
   * The compliance principals' signed approvals of the outcome (none at a timeout): settlement moves
   * a delivered deal's money back, or splits it, only on these (activities/settlement/dispute-votes.ts).
   */
  votes?: SignedDecision<{ outcome: DisputeOutcome }>[];
  /** The seller's signed consent to give the escrow back, when it conceded: settlement refunds on it. */
  consent?: SignedDecision<{ escrowId: string }>;
}

/**
 * A dispute of a delivered deal (a child of the deal's workflow): a named reviewer reads the
 * evidence for a limited time, both parties add evidence, and two distinct compliance principals
 * approving the same outcome resolve it, or the seller concedes (a refund); otherwise a default
 * release applies at the timeout, and a default refund or split waits for those signatures (it is the
 * seller's loss, which settlement pays only on them). The parent settles the escrow by the outcome.
 */
export async function dispute(input: DisputeInput): Promise<DisputeResolution> {
  checkWorkflowInput(disputeInput, input, 'dispute');
  const state = new DisputeState(input, Date.now());
  setHandler(disputeStatusQuery, () => state.snapshot());
  // Each principal's newest signed approval, kept out of the status: the resolution hands settlement
  // the ones that decided.
  const signedApprovals = new Map<string, SignedDecision<{ outcome: DisputeOutcome }>>();
  // What each signed decision must say on this run: its content, and who signs it where one party must.
  const expected =
    (action: DecisionAction, principal?: string) =>
    (content: unknown): ExpectedDecision => ({
      scope: state.scope,
      action,
      ...(principal ? { principal } : {}),
      content,
    });
  const signerOf = (signed: SignedDecision | undefined) => String(signed?.statement?.principal);
  const decided = <C>(signed: SignedDecision<C> | undefined): C | undefined => signed?.statement?.content;
  setHandler(
    nameReviewerUpdate,
    async ({ signed }) => {
      // The coordinator checks the nominee's registered role too: a nomination sent straight to
      // Temporal cannot make a party that is no reviewer one.
      const nominator = await verifiedSigner(
        signed,
        expected('reviewer_nomination')({ reviewerId: decided(signed)?.reviewerId }),
        ['compliance', 'operator'],
        { party: String(decided(signed)?.reviewerId), roles: [...REVIEWER_ROLES] },
      );
      const { reviewerId } = signed.statement.content;
      asRefusal(() =>
        state.nameReviewer(reviewerId, nominator.principal, input.reviewerAccessMs, Date.now()),
      );
      return state.snapshot();
    },
    {
      validator: ({ signed }: NameReviewerRequest) => {
        assertDecides(signed, expected('reviewer_nomination')({ reviewerId: decided(signed)?.reviewerId }));
        state.assertCanNameReviewer(signed.statement.content.reviewerId);
      },
    },
  );
  setHandler(
    addEvidenceUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, expected('dispute_evidence')({ ref: decided(signed)?.ref }));
      asRefusal(() => state.addEvidence(by.principal, signed.statement.content.ref, Date.now()));
      return state.snapshot();
    },
    {
      validator: ({ signed }: AddEvidenceRequest) => {
        assertDecides(signed, expected('dispute_evidence')({ ref: decided(signed)?.ref }));
        state.assertCanAddEvidence(signerOf(signed));
        state.assertRoomForEvidence();
      },
    },
  );
  setHandler(
    recordEvidenceReadUpdate,
    async ({ signed, refs }) => {
      const expectRead = expected('evidence_read', state.snapshot().reviewer?.partyId);
      const reader = await verifiedSigner(signed, expectRead({ nonce: decided(signed)?.nonce }), [
        ...REVIEWER_ROLES,
      ]);
      asRefusal(() =>
        state.recordEvidenceRead(reader.principal, refs, signed.statement.content.nonce, Date.now()),
      );
      return state.snapshot();
    },
    {
      validator: ({ signed }: EvidenceReadRequest) => {
        const expectRead = expected('evidence_read', state.snapshot().reviewer?.partyId);
        assertDecides(signed, expectRead({ nonce: decided(signed)?.nonce }));
        state.assertReviewerAccess(signerOf(signed), Date.now());
        state.assertFreshRead(signed.statement.content.nonce);
        state.assertRoomForRead();
      },
    },
  );
  setHandler(
    approveOutcomeUpdate,
    async ({ signed }) => {
      const approval = expected('dispute_outcome')({ outcome: decided(signed)?.outcome });
      const voter = await verifiedSigner(signed, approval, ['compliance']);
      asRefusal(() => state.approve(voter, signed.statement.content.outcome, Date.now()));
      signedApprovals.set(voter.principal, signed);
      return state.snapshot();
    },
    {
      validator: ({ signed }: ApproveOutcomeRequest) => {
        assertDecides(signed, expected('dispute_outcome')({ outcome: decided(signed)?.outcome }));
        state.assertCanApprove({ principal: signerOf(signed) }, signed.statement.content.outcome);
      },
    },
  );
  // The seller's concession, kept out of the status like the approvals: settlement refunds on it.
  let signedConsent: SignedDecision<{ escrowId: string }> | undefined;
  const expectConsent = expected('refund_consent', input.sellerId);
  setHandler(
    concedeUpdate,
    async ({ signed }) => {
      const seller = await verifiedSigner(signed, expectConsent({ escrowId: state.escrowId }), ['seller']);
      asRefusal(() => state.concede(seller.principal, Date.now()));
      signedConsent = signed;
      return state.snapshot();
    },
    {
      validator: ({ signed }: ConcedeRequest) => {
        assertDecides(signed, expectConsent({ escrowId: state.escrowId }));
        state.assertCanConcede(signerOf(signed));
      },
    },
  );
  // Runs started before a default refund or split waited for signatures still apply it at the timeout.
  const withholdUnsigned = patched('dispute-default-withheld');
  // Decisions are bound to the deal's terms: their hash is taken before any decision counts.
  state.setScope(scopeOf({ id: input.dealId, termsHash: await termsHashOf(input.terms) }));

  while (!state.resolved) {
    const seen = state.changes;
    const deadline = state.nextDeadline();
    const changed = () => state.changes !== seen;
    if (deadline === undefined) await condition(changed);
    else await condition(changed, Math.max(1, deadline - Date.now()));
    state.tick(Date.now(), input.defaultOutcome, withholdUnsigned);
  }
  // Approvals still being verified are refused by the resolved state, not left hanging.
  await condition(allHandlersFinished);

  const coordinator = coordinatorActivities(coordinatorRecord);
  const final = state.snapshot();
  const auditRef = await coordinator.storeAuditRecord({
    kind: 'dispute',
    subject: input.dealId,
    events: final.audit,
  });
  const decidedKey = outcomeKey(final.outcome!);
  const votes = final.approvals
    .filter((vote) => outcomeKey(vote.decision) === decidedKey)
    .map((vote) => signedApprovals.get(vote.principal))
    .filter((vote) => vote !== undefined);
  return {
    outcome: final.outcome!,
    resolvedBy: final.resolvedBy!,
    auditRef,
    votes,
    ...(signedConsent ? { consent: signedConsent } : {}),
  };
}
