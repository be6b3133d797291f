import type { Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/blob-store';
import type { Party, PartyRegistry } from '../../lib/parties';
import { cohortQueryDeal, dealStatusQuery, openDisputeUpdate } from '../../workflows/deal/workflow';
import type { DealStatus } from '../../workflows/deal/shapes';
import {
  addEvidenceUpdate,
  approveOutcomeUpdate,
  concedeUpdate,
  disputeStatusQuery,
  nameReviewerUpdate,
  recordEvidenceReadUpdate,
} from '../../workflows/dispute/workflow';
import { REVIEWER_ROLES, type DisputeStatus } from '../../workflows/dispute/state';
import { disputeWorkflowId } from '../../lib/ids/workflow-ids';
import type { ApproveOutcomeBody, NameReviewerBody, OpenDisputeBody } from './schemas';
import { sha256Ref } from '../../lib/canonical-json';
import { ApiError } from '../errors';
import { disputeAsSeenBy, evidenceAsSeenBy, requireOwner } from '../redaction';
import { signedByParty, type DecisionProof, type ViewProof } from '../signed-decision';
import { assertNotExpired, WorkflowCalls } from '../workflow-calls';

/** Disputes apart from HTTP: who may open, name, add, read and approve; evidence kept in blobs. */
export class DisputeService {
  private readonly calls: WorkflowCalls;

  constructor(
    temporal: Client,
    private readonly parties: PartyRegistry,
    private readonly blobs: BlobStore,
  ) {
    this.calls = new WorkflowCalls(temporal);
  }

  /** Asked for the run the opening is signed over; who may dispute and when is the deal's to say. */
  async open(party: Party, dealId: string, { reason, ...proof }: OpenDisputeBody): Promise<DealStatus> {
    const { scope } = await this.calls.query(dealId, dealStatusQuery, `deal ${dealId}`);
    const signed = signedByParty(party, scope, 'dispute_opening', { reason }, proof);
    return this.calls.update(dealId, openDisputeUpdate, { signed }, `deal ${dealId}`, cohortQueryDeal.name);
  }

  private status(dealId: string): Promise<DisputeStatus> {
    return this.calls.query(disputeWorkflowId(dealId), disputeStatusQuery, `dispute of deal ${dealId}`);
  }

  /** The dispute as this party may see it (api/redaction.ts): a reviewer is compliance or an auditor. */
  async visibleStatus(party: Party, dealId: string) {
    return disputeAsSeenBy(party, await this.status(dealId));
  }

  async nameReviewer(party: Party, dealId: string, { reviewerId, ...proof }: NameReviewerBody) {
    if (party.role !== 'compliance' && party.role !== 'operator')
      throw new ApiError('forbidden', 'only compliance or the operator names a reviewer');
    const reviewer = this.parties.get(reviewerId);
    if (!reviewer || !(REVIEWER_ROLES as readonly string[]).includes(reviewer.role))
      throw new ApiError('invalid_terms', `${reviewerId} is not a registered compliance or auditor party`);
    const { scope } = await this.status(dealId);
    const signed = signedByParty(party, scope, 'reviewer_nomination', { reviewerId }, proof);
    const named = await this.calls.update(
      disputeWorkflowId(dealId),
      nameReviewerUpdate,
      { signed },
      `dispute of deal ${dealId}`,
    );
    return disputeAsSeenBy(party, named);
  }

  async addEvidence(
    party: Party,
    dealId: string,
    { evidence, ...proof }: { evidence: string } & DecisionProof,
  ): Promise<DisputeStatus> {
    // Asked for the run the signature is bound to; who may add evidence is the workflow's to say.
    const status = await this.status(dealId);
    const bytes = Buffer.from(evidence, 'utf8');
    // Checked before the blob is stored: evidence nobody signed leaves nothing behind.
    const signed = signedByParty(party, status.scope, 'dispute_evidence', { ref: sha256Ref(bytes) }, proof);
    await this.blobs.put(bytes);
    return this.calls.update(
      disputeWorkflowId(dealId),
      addEvidenceUpdate,
      { signed },
      `dispute of deal ${dealId}`,
    );
  }

  /** The named reviewer, while the access lasts; each read is recorded before the evidence is shown. */
  async readEvidence(party: Party, dealId: string, { nonce, ...proof }: ViewProof) {
    const status = await this.status(dealId);
    const reviewer = status.reviewer;
    const refusal = `only the named reviewer reads the evidence of deal ${dealId}`;
    if (!reviewer) throw new ApiError('forbidden', refusal);
    requireOwner(party, reviewer.partyId, refusal);
    if (reviewer.expired)
      throw new ApiError('access_expired', `${party.id}'s access to the evidence has ended`);
    assertNotExpired(reviewer.accessUntil, `${party.id}'s access to the evidence`);
    const refs = status.evidence.map((e) => e.ref);
    const signed = signedByParty(party, status.scope, 'evidence_read', { nonce }, proof);
    await this.calls.update(
      disputeWorkflowId(dealId),
      recordEvidenceReadUpdate,
      { signed, refs },
      `dispute of deal ${dealId}`,
    );
    const evidence = await Promise.all(
      status.evidence.map(async (e) => ({ ...e, text: (await this.blobs.get(e.ref)).toString('utf8') })),
    );
    return { dealId, accessUntil: reviewer.accessUntil, evidence: evidenceAsSeenBy(party, status, evidence) };
  }

  async approve(party: Party, dealId: string, { outcome, ...proof }: ApproveOutcomeBody) {
    if (party.role !== 'compliance')
      throw new ApiError('forbidden', 'only compliance principals approve an outcome');
    // A principal may change its approval, not repeat it: the workflow refuses a repeat (AlreadyDecided).
    const status = await this.status(dealId);
    const signed = signedByParty(party, status.scope, 'dispute_outcome', { outcome }, proof);
    const approved = await this.calls.update(
      disputeWorkflowId(dealId),
      approveOutcomeUpdate,
      { signed },
      `dispute of deal ${dealId}`,
    );
    return disputeAsSeenBy(party, approved);
  }

  /** The seller gives the escrow back: its signed `refund_consent` of the escrow the status names. */
  async concede(party: Party, dealId: string, proof: DecisionProof): Promise<DisputeStatus> {
    if (party.role !== 'seller') throw new ApiError('forbidden', "only the deal's seller concedes");
    // Who the deal's seller is, and whether the dispute is open, is the workflow's to say.
    const { scope, escrowId } = await this.status(dealId);
    const signed = signedByParty(party, scope, 'refund_consent', { escrowId }, proof);
    return this.calls.update(
      disputeWorkflowId(dealId),
      concedeUpdate,
      { signed },
      `dispute of deal ${dealId}`,
    );
  }
}
