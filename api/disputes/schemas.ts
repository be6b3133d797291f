import { z } from 'zod';
import { auditEvent, hiddenFields, partyId, vote } from '../common-schemas';
import { decisionProof, decisionScope } from '../signed-decision';
import { MAX_DISPUTE_REASON } from '../../workflows/deal/shapes';
import { disputeOutcome, disputeResolvedBy, disputeStage } from '../../workflows/dispute/shapes';

export { disputeOutcome };

/** The reason, signed with the opening over the deal's run and terms (its status's `scope`). */
export const openDisputeBody = decisionProof.extend({ reason: z.string().min(1).max(MAX_DISPUTE_REASON) });
export type OpenDisputeBody = z.infer<typeof openDisputeBody>;
/** The reviewer, named by a signed nomination on this dispute's run (its status's `scope`). */
export const nameReviewerBody = decisionProof.extend({ reviewerId: partyId });
export type NameReviewerBody = z.infer<typeof nameReviewerBody>;

export type DisputeOutcomeBody = z.infer<typeof disputeOutcome>;

/** An approval: the outcome, signed over this dispute's run, the deal and its terms hash (`scope`). */
export const approveOutcomeBody = decisionProof.extend({ outcome: disputeOutcome });
export type ApproveOutcomeBody = z.infer<typeof approveOutcomeBody>;

export const disputeStatus = z
  .object({
    dealId: z.string(),
    /** The deal's escrow, which the seller's concession (`refund_consent`) gives back; absent when redacted. */
    escrowId: z.string().optional(),
    stage: disputeStage,
    /** Absent for auditors and compliance (see `hidden`); evidence and audit name `(buyer)` / `(seller)`. */
    buyerId: z.string().optional(),
    sellerId: z.string().optional(),
    openedBy: z.string().optional(),
    hidden: hiddenFields,
    reason: z.string(),
    openedAt: z.number(),
    scope: decisionScope.optional(),
    resolveBy: z.number(),
    /** The timeout passed; its default (a refund or split) waits for two compliance votes or the seller's concession. */
    defaultWithheld: z.boolean().optional(),
    reviewer: z
      .object({ partyId: z.string(), namedBy: z.string(), accessUntil: z.number(), expired: z.boolean() })
      .optional(),
    evidence: z.array(z.object({ by: z.string(), ref: z.string(), at: z.number() })),
    approvals: z.array(vote(disputeOutcome)),
    outcome: disputeOutcome.optional(),
    resolvedBy: disputeResolvedBy.optional(),
    audit: z.array(auditEvent),
  })
  .meta({ id: 'DisputeStatus' });

export const disputeEvidence = z.object({
  dealId: z.string(),
  accessUntil: z.number(),
  evidence: z.array(z.object({ by: z.string(), ref: z.string(), at: z.number(), text: z.string() })),
});
