import type { Client } from '@temporalio/client';
import type { Party, PartyRegistry } from '../../lib/parties';
import type { BlobStore } from '../../lib/blob-store';
import { draftHashSignatureProblem } from '../../query-policies/draft-signature';
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
    private readonly blobs: BlobStore,
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
    const seller = this.parties.get(body.seller);
    if (seller?.role !== 'seller') throw new ApiError('not_found', `no seller ${body.seller}`);
    await this.assertStored(body);
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

  /** A revision's sealed bytes, to its proposer and seller only: only their keys open them anyway. */
  async sealedDraft(party: Party, reviewId: string, revision: number) {
    const status = await this.status(party, reviewId);
    const found = status.revisions.find((r) => r.revision === revision);
    if (!found) throw new ApiError('not_found', `review ${reviewId} has no revision ${revision}`);
    const bytes = await this.blobs.get(found.draftRef).catch(() => {
      throw new ApiError('not_found', `the sealed draft ${found.draftRef} is not in the blob store`);
    });
    return { draftRef: found.draftRef, draftHash: found.draftHash, sealed: bytes.toString('base64url') };
  }

  /**
   * A sealed note of the review (a comment's text, a refused preview's lint problems), to its proposer
   * and seller only, and only a note the review records: the blob store is not browsed through here.
   */
  async sealedNote(party: Party, reviewId: string, ref: string) {
    const status = await this.status(party, reviewId);
    const recorded = [
      ...status.comments.map((c) => c.note?.ref),
      ...status.revisions.map((r) =>
        r.preview?.kind === 'refused' ? r.preview.sealedIssues?.ref : undefined,
      ),
    ];
    if (!recorded.includes(ref)) throw new ApiError('not_found', `review ${reviewId} records no note ${ref}`);
    const bytes = await this.blobs.get(ref).catch(() => {
      throw new ApiError('not_found', `the sealed note ${ref} is not in the blob store`);
    });
    return { ref, sealed: bytes.toString('base64url') };
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
    await this.assertStored(body);
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
    const problem = draftHashSignatureProblem(body, proposer.publicKey);
    if (problem) throw new ApiError('terms_signature_invalid', problem);
  }

  /**
   * The draft is sealed to the seller's perimeter: the API sees only its reference, so it checks the
   * blob is there (the perimeter opens it, checks it against the signed hash, and lints it).
   */
  private async assertStored(body: ProposalBody): Promise<void> {
    if (!(await this.blobs.has(body.draftRef)))
      throw new ApiError(
        'unknown_blob',
        `no blob ${body.draftRef}; upload the sealed draft with POST /blobs`,
      );
  }
}
