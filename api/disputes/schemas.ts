import { z } from 'zod';
import { auditEvent, decisionSignature, hiddenFields, partyId, vote } from '../common-schemas';

export const openDisputeBody = z.strictObject({ reason: z.string().min(1).max(1000) });
export const nameReviewerBody = z.strictObject({ reviewerId: partyId });

export const disputeOutcome = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('release') }),
  z.strictObject({ kind: z.literal('refund') }),
  /** The seller gets sellerBps basis points of the price (less the fee), the buyer the rest. */
  z.strictObject({ kind: z.literal('split'), sellerBps: z.int().min(0).max(10_000) }),
]);
export type DisputeOutcomeBody = z.infer<typeof disputeOutcome>;

/** An approval: the outcome, and the approver's signature over (the dispute's workflow id, outcome). */
export const approveOutcomeBody = z.strictObject({ outcome: disputeOutcome, signature: decisionSignature });
export type ApproveOutcomeBody = z.infer<typeof approveOutcomeBody>;

export const disputeStatus = z
  .object({
    dealId: z.string(),
    stage: z.enum(['open', 'resolved']),
    /** Absent for auditors and compliance (see `hidden`); evidence and audit name `(buyer)` / `(seller)`. */
    buyerId: z.string().optional(),
    sellerId: z.string().optional(),
    openedBy: z.string().optional(),
    hidden: hiddenFields,
    reason: z.string(),
    openedAt: z.number(),
    resolveBy: z.number(),
    reviewer: z
      .object({ partyId: z.string(), namedBy: z.string(), accessUntil: z.number(), expired: z.boolean() })
      .optional(),
    evidence: z.array(z.object({ by: z.string(), ref: z.string(), at: z.number() })),
    approvals: z.array(vote(disputeOutcome)),
    outcome: disputeOutcome.optional(),
    resolvedBy: z.enum(['approvals', 'timeout']).optional(),
    audit: z.array(auditEvent),
  })
  .meta({ id: 'DisputeStatus' });

export const disputeEvidence = z.object({
  dealId: z.string(),
  accessUntil: z.number(),
  evidence: z.array(z.object({ by: z.string(), ref: z.string(), at: z.number(), text: z.string() })),
});
