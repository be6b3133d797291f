import { z } from 'zod';
// A type only: signed terms verify (node:crypto), which workflow code may not load.
import type { SignedTerms } from '../../lib/signed-terms';

/**
 * A dispute's shapes, defined once: the workflow's state, the deal's status, the API's request and
 * response schemas and the SDK derive from these. Pure (zod only), so workflow code imports it.
 */

export const disputeOutcome = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('release') }),
  z.strictObject({ kind: z.literal('refund') }),
  /** The seller gets sellerBps basis points of the price (less the fee), the buyer the rest. */
  z.strictObject({ kind: z.literal('split'), sellerBps: z.int().min(0).max(10_000) }),
]);
export type DisputeOutcome = z.infer<typeof disputeOutcome>;

/** A deal's dispute rules, fixed when the deal starts. */
export const disputeTerms = z.object({
  /** How long a named reviewer may read the evidence, from being named. */
  reviewerAccessMs: z.number(),
  /** How long the dispute may stay open before `defaultOutcome` applies. */
  resolutionTimeoutMs: z.number(),
  defaultOutcome: disputeOutcome,
});
export type DisputeTerms = z.infer<typeof disputeTerms>;

/** What a deal starts its dispute's workflow with: the deal's dispute rules and who disputes what. */
export const disputeInput = disputeTerms.extend({
  dealId: z.string(),
  /** The buyer's signed terms of the deal: every decision on the dispute is bound to their hash. */
  terms: z.custom<SignedTerms>(),
  buyerId: z.string(),
  sellerId: z.string(),
  price: z.string(),
  openedBy: z.string(),
  reason: z.string(),
});
export type DisputeInput = z.infer<typeof disputeInput>;

export const DISPUTE_STAGES = ['open', 'resolved'] as const;
export const disputeStage = z.enum(DISPUTE_STAGES);
export type DisputeStage = z.infer<typeof disputeStage>;

/**
 * How a dispute was resolved: by its approvals, by its default outcome at the timeout (a release; a
 * refund or split is withheld for signatures), or by the seller conceding (a refund on its consent).
 */
export const disputeResolvedBy = z.enum(['approvals', 'timeout', 'concession']);
export type DisputeResolvedBy = z.infer<typeof disputeResolvedBy>;
