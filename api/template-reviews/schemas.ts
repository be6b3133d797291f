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

/**
 * A proposal or a revision, as its proposer signed it: the reference of its sealed draft and the
 * draft's hash, never the draft (the perimeter opens it; the API and Temporal hold no query text).
 */
export const proposalBody = signedDraft;
export type ProposalBody = z.infer<typeof proposalBody>;

export const reviewParams = z.strictObject({ reviewId });
export const revisionParams = z.strictObject({ reviewId, revision: z.coerce.number().int().min(1) });

/** A revision's sealed draft as stored (query-policies/sealed-draft.ts), base64url. */
export const sealedDraftResponse = z.strictObject({
  draftRef: z.string(),
  draftHash: z.string(),
  sealed: z.string(),
});

export const noteParams = z.strictObject({
  reviewId,
  ref: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>'),
});

/** A sealed review note as stored (query-policies/sealed-review-note.ts), base64url. */
export const sealedNoteResponse = z.strictObject({ ref: z.string(), sealed: z.string() });

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
