import { z } from 'zod';
import { templateSignature } from '../../query-policies/signature';
import { queryTemplate } from '../../query-policies/template';
import {
  reviewDecisionContent,
  reviewId,
  signedDraft,
  templateReviewStatus,
} from '../../workflows/template-review/shapes';
import { decisionProof } from '../signed-decision';

/** A proposal or a revision, as its proposer signed it; the draft is checked in full as a template. */
export const proposalBody = signedDraft.extend({ draft: queryTemplate });
export type ProposalBody = z.infer<typeof proposalBody>;

export const reviewParams = z.strictObject({ reviewId });

/** The seller's decision: what it decides, and its signature over this run and revision. */
export const reviewDecisionBody = z.strictObject({ content: reviewDecisionContent, proof: decisionProof });
export type ReviewDecisionBody = z.infer<typeof reviewDecisionBody>;

/** The seller's approval: the template it signed, as `tusk template sign` writes it. */
export const approvalBody = z.strictObject({ template: queryTemplate, signature: templateSignature });

export const reviewStatus = templateReviewStatus;

/** One line of a list: who and what, without the drafts (the rest of a status is stripped). */
export const listedReview = templateReviewStatus
  .pick({
    reviewId: true,
    sellerId: true,
    proposerId: true,
    dataset: true,
    templateId: true,
    stage: true,
    expiresAt: true,
  })
  .strip();
export const reviewList = z.object({ reviews: z.array(listedReview) });
