import type { Client } from '@temporalio/client';
import type { Party, PartyRegistry } from '../../lib/parties';
import { draftSignatureProblem } from '../../query-policies/draft-signature';
import { lintFix } from '../../query-policies/lint-fixes';
import type { QueryTemplate } from '../../query-policies/template';
import type { TemplateSignature } from '../../query-policies/signature';
import {
  approveTemplateUpdate,
  decideReviewUpdate,
  reviseProposalUpdate,
  templateReview,
  templateReviewStatusQuery,
} from '../../workflows/template-review/workflow';
import {
  DEFAULT_REVIEW_DEADLINE_MS,
  templateReviewWorkflowId,
  type TemplateReviewStatus,
} from '../../workflows/template-review/shapes';
import { ApiError } from '../errors';
import { signedByParty } from '../signed-decision';
import type { TemplateCatalog } from '../templates/catalog';
import { publishTemplate } from '../templates/service';
import { WorkflowCalls } from '../workflow-calls';
import { lintDraft } from './draft-lint';
import type { ProposalBody, ReviewDecisionBody } from './schemas';

const PROPOSER_ROLES = ['buyer', 'sponsor'];
const WHAT = 'template review';

/**
 * Template proposals apart from HTTP. A proposal is its proposer's and its seller's: anyone else,
 * the operator included, is answered exactly as for an id that does not exist.
 */
export class TemplateReviewService {
  private readonly calls: WorkflowCalls;

  constructor(
    private readonly temporal: Client,
    private readonly parties: PartyRegistry,
    private readonly catalog: TemplateCatalog,
  ) {
    this.calls = new WorkflowCalls(temporal);
  }

  async propose(proposer: Party, body: ProposalBody) {
    if (!PROPOSER_ROLES.includes(proposer.role))
      throw new ApiError(
        'forbidden',
        `a buyer or sponsor proposes templates; ${proposer.id} is a ${proposer.role}`,
      );
    this.assertSignedBy(proposer, body);
    if (body.revision !== 1)
      throw new ApiError('invalid_request', 'a proposal is revision 1; revise it afterwards');
    const seller = this.parties.get(body.draft.seller);
    if (seller?.role !== 'seller') throw new ApiError('not_found', `no seller ${body.draft.seller}`);
    await this.assertLints(body.draft);
    const workflowId = templateReviewWorkflowId(body.reviewId);
    const created = await this.calls.startOnce(templateReview, workflowId, {
      reviewId: body.reviewId,
      sellerId: seller.id,
      proposerId: proposer.id,
      proposal: body,
      expiresAt: Date.now() + DEFAULT_REVIEW_DEADLINE_MS,
    });
    const status = await this.calls.query(workflowId, templateReviewStatusQuery, WHAT);
    if (!created && (status.proposerId !== proposer.id || status.revisions[0]?.draftHash !== body.draftHash))
      throw new ApiError('id_taken', `review id ${body.reviewId} is taken; choose another`);
    return { created, status };
  }

  /** The status, to the proposer and the seller only; anyone else gets what an unknown id gets. */
  async status(party: Party, reviewId: string): Promise<TemplateReviewStatus> {
    const status = await this.calls.query(
      templateReviewWorkflowId(reviewId),
      templateReviewStatusQuery,
      WHAT,
    );
    if (party.id !== status.proposerId && party.id !== status.sellerId)
      throw new ApiError('not_found', `no ${WHAT}`);
    return status;
  }

  async list(party: Party): Promise<TemplateReviewStatus[]> {
    const reviews: TemplateReviewStatus[] = [];
    for await (const execution of this.temporal.workflow.list({ query: "WorkflowType = 'templateReview'" })) {
      const status = await this.temporal.workflow
        .getHandle(execution.workflowId, execution.runId)
        .query(templateReviewStatusQuery)
        .catch(() => undefined);
      if (status && (status.proposerId === party.id || status.sellerId === party.id)) reviews.push(status);
    }
    return reviews;
  }

  async revise(proposer: Party, reviewId: string, body: ProposalBody) {
    const status = await this.status(proposer, reviewId);
    if (status.proposerId !== proposer.id)
      throw new ApiError(
        'forbidden',
        `only ${status.proposerId}, who proposed it, revises review ${reviewId}`,
      );
    this.assertSignedBy(proposer, body);
    await this.assertLints(body.draft);
    return this.calls.update(
      templateReviewWorkflowId(reviewId),
      reviseProposalUpdate,
      body,
      WHAT,
      'templateReview',
    );
  }

  async decide(seller: Party, reviewId: string, { content, proof }: ReviewDecisionBody) {
    const status = await this.sellersView(seller, reviewId);
    const signed = signedByParty(seller, status.scope, 'template_review', content, proof);
    return this.calls.update(
      templateReviewWorkflowId(reviewId),
      decideReviewUpdate,
      { signed },
      WHAT,
      'templateReview',
    );
  }

  /** The workflow counts the approval (the coordinator checks the signature); then it enters the catalog. */
  async approve(seller: Party, reviewId: string, template: QueryTemplate, signature: TemplateSignature) {
    await this.sellersView(seller, reviewId);
    const status = await this.calls.update(
      templateReviewWorkflowId(reviewId),
      approveTemplateUpdate,
      { template, signature },
      WHAT,
      'templateReview',
    );
    await publishTemplate(this.catalog, seller, template, signature);
    return status;
  }

  private async sellersView(seller: Party, reviewId: string): Promise<TemplateReviewStatus> {
    const status = await this.status(seller, reviewId);
    if (status.sellerId !== seller.id)
      throw new ApiError('forbidden', `only seller ${status.sellerId} decides on review ${reviewId}`);
    return status;
  }

  private assertSignedBy(proposer: Party, body: ProposalBody): void {
    if (body.proposer !== proposer.id)
      throw new ApiError('forbidden', `the draft names proposer ${body.proposer}, not ${proposer.id}`);
    const problem = draftSignatureProblem(body, proposer.publicKey);
    if (problem) throw new ApiError('terms_signature_invalid', problem);
  }

  private async assertLints(draft: QueryTemplate): Promise<void> {
    const issues = await lintDraft(draft);
    if (issues.length > 0)
      throw new ApiError(
        'template_lint_failed',
        `the draft fails lint:\n${issues.map((i) => `  - ${i.code}: ${i.message} (fix: ${lintFix(i)})`).join('\n')}`,
      );
  }
}
