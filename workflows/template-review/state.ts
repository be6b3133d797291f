import type { DecisionScope } from '../../lib/decision-statement';
import type { QueryTemplate } from '../../query-policies/template';
import { refusal } from '../refusals';
import {
  FINAL_REVIEW_STAGES,
  SEALED_MESSAGE,
  type DraftPreview,
  type ReviewDecisionContent,
  type ReviewStage,
  type SignedDraft,
  type TemplateReviewInput,
  type TemplateReviewStatus,
} from './shapes';

/**
 * A proposal's rules: the proposer revises until the seller decides; every revision is kept with its
 * preview; the seller approves only the current revision, and only after the perimeter previewed it;
 * nothing changes once it is approved, rejected or expired.
 */
export class TemplateReviewState {
  private readonly status: TemplateReviewStatus;
  changes = 0;

  constructor(input: TemplateReviewInput, scope: Omit<DecisionScope, 'subject'>, now: number) {
    const { proposal } = input;
    this.status = {
      reviewId: input.reviewId,
      sellerId: input.sellerId,
      proposerId: input.proposerId,
      dataset: proposal.dataset,
      templateId: proposal.templateId,
      stage: 'open',
      expiresAt: input.expiresAt,
      scope: { ...scope, subject: { id: input.reviewId, termsHash: proposal.draftHash } },
      revisions: [],
      comments: [],
      audit: [],
    };
    this.assertProposal(proposal, 1);
    this.addRevision(proposal, now);
  }

  get stage(): ReviewStage {
    return this.status.stage;
  }

  get finished(): boolean {
    return FINAL_REVIEW_STAGES.includes(this.stage);
  }

  get scope(): DecisionScope {
    return this.status.scope;
  }

  get current(): TemplateReviewStatus['revisions'][number] {
    return this.status.revisions.at(-1)!;
  }

  /** The revision waiting for its preview, if any. */
  get awaitingPreview(): SignedDraft | undefined {
    const current = this.current;
    if (current.preview || this.finished) return undefined;
    const { revision, draftRef, draftHash, signature } = current;
    return {
      reviewId: this.status.reviewId,
      revision,
      proposer: this.status.proposerId,
      seller: this.status.sellerId,
      dataset: this.status.dataset,
      templateId: this.status.templateId,
      draftRef,
      draftHash,
      signature,
    };
  }

  snapshot(): TemplateReviewStatus {
    return JSON.parse(JSON.stringify(this.status)) as TemplateReviewStatus;
  }

  private record(at: number, action: string, by: string, detail?: Record<string, string | number>): void {
    this.status.audit.push(detail ? { at, action, by, detail } : { at, action, by });
    this.changes += 1;
  }

  private assertOpen(): void {
    if (this.finished) throw refusal('InvalidState', `review ${this.status.reviewId} is ${this.stage}`);
  }

  /** A revision must be the next one, by the proposer, of the same review, seller and template id. */
  private assertProposal(proposal: SignedDraft, expected: number): void {
    if (proposal.reviewId !== this.status.reviewId)
      throw refusal('InvalidInput', `the draft was signed for review ${proposal.reviewId}`);
    if (proposal.proposer !== this.status.proposerId)
      throw refusal(
        'Forbidden',
        `only ${this.status.proposerId}, who proposed it, may revise review ${this.status.reviewId}`,
      );
    if (proposal.revision !== expected)
      throw refusal('InvalidInput', `the next revision is ${expected}, not ${proposal.revision}`);
    if (proposal.seller !== this.status.sellerId || proposal.templateId !== this.status.templateId)
      throw refusal(
        'InvalidInput',
        `a revision keeps seller ${this.status.sellerId} and template id ${this.status.templateId}`,
      );
    if (proposal.dataset !== this.status.dataset)
      throw refusal('InvalidInput', `a revision keeps dataset ${this.status.dataset}`);
  }

  private addRevision(proposal: SignedDraft, now: number): void {
    const { revision, draftRef, draftHash, signature } = proposal;
    this.status.revisions.push({ revision, draftRef, draftHash, signature, at: now });
    this.status.scope.subject.termsHash = draftHash;
    this.record(now, revision === 1 ? 'proposed' : 'revised', proposal.proposer, { revision, draftHash });
  }

  assertCanRevise(proposal: SignedDraft): void {
    this.assertOpen();
    this.assertProposal(proposal, this.current.revision + 1);
  }

  revise(proposal: SignedDraft, now: number): void {
    this.assertCanRevise(proposal);
    this.addRevision(proposal, now);
    if (this.status.stage === 'changes_requested') this.status.stage = 'open';
  }

  /** The perimeter's preview of a revision: kept with it, for both parties to read. */
  recordPreview(preview: DraftPreview, now: number): void {
    const revision = this.status.revisions.find((r) => r.revision === preview.revision);
    if (!revision || revision.preview) return;
    revision.preview = preview;
    this.record(now, preview.kind === 'previewed' ? 'previewed' : 'preview_refused', 'perimeter', {
      revision: preview.revision,
    });
  }

  assertCanDecide(principal: string, content: ReviewDecisionContent): void {
    this.assertOpen();
    if (principal !== this.status.sellerId)
      throw refusal(
        'Forbidden',
        `only seller ${this.status.sellerId} decides on review ${this.status.reviewId}`,
      );
    if (content.decision !== 'set_deadline' && content.revision !== this.current.revision)
      throw refusal(
        'InvalidState',
        `the current revision is ${this.current.revision}, not ${content.revision}`,
      );
  }

  /**
   * A new decision's text is sealed: a message in clear would sit in the history the operator reads.
   * Only the update's validator asks this, so runs that recorded a clear message still replay.
   */
  assertSealed(content: ReviewDecisionContent): void {
    if (content.decision !== 'set_deadline' && content.note === undefined)
      throw refusal(
        'InvalidInput',
        "a comment, change request or reject reason is sealed to the proposer and the seller's perimeter: send its note { ref, hash }, not a message",
      );
  }

  decide(principal: string, content: ReviewDecisionContent, now: number): void {
    this.assertCanDecide(principal, content);
    if (content.decision === 'set_deadline') {
      if (content.expiresAt <= now) throw refusal('InvalidInput', 'the deadline must be in the future');
      this.status.expiresAt = content.expiresAt;
      this.record(now, 'deadline_set', principal, { expiresAt: content.expiresAt });
      return;
    }
    const { decision, revision, note } = content;
    const message = note ? SEALED_MESSAGE : (content.message ?? '');
    this.status.comments.push({
      at: now,
      by: principal,
      revision,
      kind: decision,
      message,
      ...(note ? { note } : {}),
    });
    if (decision === 'request_changes') this.status.stage = 'changes_requested';
    if (decision === 'reject') this.status.stage = 'rejected';
    this.record(
      now,
      decision === 'comment' ? 'commented' : decision === 'reject' ? 'rejected' : 'changes_requested',
      principal,
      {
        revision,
      },
    );
  }

  /**
   * The seller may approve the current revision once the perimeter previewed it. The draft is sealed
   * (this workflow never reads it), so what is checked here is what the signed template names: this
   * review, seller, dataset and template id. That it is the draft the seller read is the seller's own
   * signature's word (its CLI signs the draft it opened), checked by the coordinator.
   */
  assertCanApprove(template: QueryTemplate): void {
    this.assertOpen();
    const current = this.current;
    if (current.preview?.kind !== 'previewed')
      throw refusal(
        'InvalidState',
        `revision ${current.revision} has ${current.preview ? 'a refused preview' : 'no preview yet'}: only a previewed draft is approved`,
      );
    if (template.review?.reviewId !== this.status.reviewId)
      throw refusal('InvalidInput', `the signed template must name review ${this.status.reviewId}`);
    const named = { seller: this.status.sellerId, dataset: this.status.dataset, id: this.status.templateId };
    if (template.seller !== named.seller || template.dataset !== named.dataset || template.id !== named.id)
      throw refusal(
        'InvalidInput',
        `the signed template must be ${named.seller}'s ${named.id} on ${named.dataset}, as proposed`,
      );
  }

  approve(seller: string, template: QueryTemplate, templateHash: string, now: number): void {
    this.assertCanApprove(template);
    this.status.stage = 'approved';
    this.status.approvedTemplateHash = templateHash;
    this.record(now, 'approved', seller, {
      revision: this.current.revision,
      templateHash,
      price: template.price,
    });
  }

  nextDeadline(): number | undefined {
    return this.finished ? undefined : this.status.expiresAt;
  }

  tick(now: number): void {
    if (!this.finished && now >= this.status.expiresAt) {
      this.status.stage = 'expired';
      this.record(now, 'expired', 'timer');
    }
  }
}
