import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { SignedDecision } from '../../lib/decision-statement';
import type { PreviewActivities } from '../../activities/perimeter/types';
import { coordinatorCheck, coordinatorNotify, perimeterCheck } from '../activity-options';
import { notifyBestEffort } from '../notify';
import { coordinatorActivities, perimeterActivities } from '../activity-proxies';
import { refusal } from '../refusals';
import { asRefusal, verifiedSigner } from '../verified-decision';
import {
  reviewDecisionContent,
  signedDraft,
  templateApproval,
  templateReviewInput,
  type DraftPreview,
  type ReviewDecisionContent,
  type SignedDraft,
  type TemplateApproval,
  type TemplateReviewInput,
  type TemplateReviewStatus,
} from './shapes';
import { TemplateReviewState } from './state';
import { checkWorkflowInput } from '../workflow-input';

export interface DecideReviewRequest {
  /** The seller's signed decision (action `template_review`) on this run and current revision. */
  signed: SignedDecision<ReviewDecisionContent>;
}

export const templateReviewStatusQuery = defineQuery<TemplateReviewStatus>('templateReviewStatus');
export const reviseProposalUpdate = defineUpdate<TemplateReviewStatus, [SignedDraft]>(
  'reviseTemplateProposal',
);
export const decideReviewUpdate = defineUpdate<TemplateReviewStatus, [DecideReviewRequest]>(
  'decideTemplateReview',
);
export const approveTemplateUpdate = defineUpdate<TemplateReviewStatus, [TemplateApproval]>(
  'approveTemplate',
);

const parsedOr = <T>(
  parsed: { success: true; data: T } | { success: false; error: Error },
  what: string,
): T => {
  if (!parsed.success) throw refusal('InvalidInput', `${what} is malformed`);
  return parsed.data;
};

/** The perimeter's preview; a refusal of it (a bad signature, no such dataset) is the preview's answer. */
async function previewIn(sellerId: string, draft: SignedDraft): Promise<DraftPreview> {
  try {
    return await perimeterActivities<PreviewActivities>(sellerId, perimeterCheck).previewDraft(draft);
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    const reason =
      cause instanceof ApplicationFailure
        ? cause.message
        : 'the perimeter did not answer: revise to try again';
    return { kind: 'refused', revision: draft.revision, reason, issues: [] };
  }
}

const ENDING_EVENTS = {
  approved: 'template_approved',
  rejected: 'template_rejected',
  expired: 'template_review_expired',
} as const;

/**
 * A buyer's (or sponsor's) proposed template on its way to the seller's catalog: the perimeter
 * previews each signed revision on a synthetic twin, the seller comments, asks for changes, rejects,
 * or approves by signing the template; an open proposal expires at the seller's deadline. Every step
 * is signed by whoever takes it and is kept in this (encrypted) history.
 */
export async function templateReview(input: TemplateReviewInput): Promise<TemplateReviewStatus> {
  checkWorkflowInput(templateReviewInput, input, 'template review');
  const { workflowId, runId } = workflowInfo();
  const state = new TemplateReviewState(input, { workflowId, runId }, Date.now());
  const expectedDecision = ({ statement }: SignedDecision<ReviewDecisionContent>) => ({
    scope: state.scope,
    action: 'template_review' as const,
    principal: input.sellerId,
    content: statement?.content,
  });
  setHandler(templateReviewStatusQuery, () => state.snapshot());
  setHandler(
    reviseProposalUpdate,
    (proposal) => {
      asRefusal(() => state.revise(proposal, Date.now()));
      return state.snapshot();
    },
    {
      validator: (proposal: SignedDraft) => {
        state.assertCanRevise(parsedOr(signedDraft.safeParse(proposal), 'the revision'));
      },
    },
  );
  setHandler(
    decideReviewUpdate,
    async ({ signed }) => {
      const seller = await verifiedSigner(signed, expectedDecision(signed), ['seller']);
      asRefusal(() => state.decide(seller.principal, signed.statement.content, Date.now()));
      return state.snapshot();
    },
    {
      validator: ({ signed }: DecideReviewRequest) => {
        const content = parsedOr(reviewDecisionContent.safeParse(signed?.statement?.content), 'the decision');
        state.assertSealed(content);
        state.assertCanDecide(signed.statement.principal, content);
      },
    },
  );
  setHandler(
    approveTemplateUpdate,
    async (approval) => {
      const { templateHash } = await coordinatorActivities(coordinatorCheck)
        .verifyTemplateApproval({ sellerId: input.sellerId, ...approval })
        .catch((error: unknown) => {
          const cause = error instanceof ActivityFailure ? error.cause : undefined;
          if (cause instanceof ApplicationFailure) throw refusal('DecisionInvalid', cause.message);
          throw refusal('Unavailable', 'the approval could not be verified now; try again');
        });
      asRefusal(() => state.approve(input.sellerId, approval.template, templateHash, Date.now()));
      return state.snapshot();
    },
    {
      validator: (approval: TemplateApproval) => {
        state.assertCanApprove(parsedOr(templateApproval.safeParse(approval), 'the approval').template);
      },
    },
  );

  const notify = (partyId: string, event: Parameters<typeof notifyBestEffort>[3]) =>
    notifyBestEffort(coordinatorActivities(coordinatorNotify), partyId, input.reviewId, event);
  await notify(input.sellerId, 'template_proposed');
  while (!state.finished) {
    const waiting = state.awaitingPreview;
    if (waiting) {
      state.recordPreview(await previewIn(input.sellerId, waiting), Date.now());
      continue;
    }
    const seen = state.changes;
    await condition(() => state.changes !== seen, Math.max(1, (state.nextDeadline() ?? 0) - Date.now()));
    state.tick(Date.now());
  }
  // The proposer learns the outcome at once: an approved template is for sale already.
  await notify(input.proposerId, ENDING_EVENTS[state.stage as 'approved' | 'rejected' | 'expired']);
  await condition(allHandlersFinished);
  return state.snapshot();
}
