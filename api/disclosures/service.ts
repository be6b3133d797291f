import type { Client } from '@temporalio/client';
import { canonicalHash } from '../../lib/canonical-json';
import type { Party } from '../../lib/parties';
import { dealStatusQuery } from '../../workflows/deal/workflow';
import type { DealStatus } from '../../workflows/deal/shapes';
import { multiSellerStatusQuery } from '../../workflows/multi-seller/workflow';
import type { MultiSellerDealStatus } from '../../workflows/multi-seller/shapes';
import {
  decideDisclosureUpdate,
  disclosure,
  disclosureStatusQuery,
  recordViewUpdate,
} from '../../workflows/disclosure/workflow';
import type { DisclosureDecision, DisclosureStatus } from '../../workflows/disclosure/shapes';
import { disclosureWorkflowId } from '../../lib/ids/workflow-ids';
import { disclosureAsSeenBy, hiddenFieldsOf, requireOwner } from '../redaction';
import type { RequestDisclosureBody } from './schemas';
import { ApiError } from '../errors';
import { signedByParty, type DecisionProof, type ViewProof } from '../signed-decision';
import type { LifecycleConfig } from '../lifecycle-config';
import { assertNotExpired, WorkflowCalls } from '../workflow-calls';
import type { PartySearch } from '../listing/party-search';
import type { RegisteredKeys } from '../../lib/key-log';
import { checkSubjectTerms } from '../../lib/subject-terms';
import { dealTermsQuery } from '../../workflows/deal-terms';

/** Selective disclosure apart from HTTP: requests, dual approval, and views recorded before they happen. */
export class DisclosureService {
  private readonly calls: WorkflowCalls;

  constructor(
    temporal: Client,
    private readonly config: Pick<LifecycleConfig, 'disclosureViewMs' | 'disclosureApprovalTimeoutMs'>,
    private readonly search?: PartySearch,
    /** The keys the coordinator checks the subject's terms against (the API's own log). */
    private readonly keys?: RegisteredKeys,
  ) {
    this.calls = new WorkflowCalls(temporal);
  }

  async request(auditor: Party, body: RequestDisclosureBody) {
    await this.deal(body.dealId);
    await this.requireSignedSubject(body.dealId);
    const created = await this.calls.startOnce(
      disclosure,
      disclosureWorkflowId(body.disclosureId),
      {
        disclosureId: body.disclosureId,
        // No terms hash: the workflow's coordinator reads the deal's signed terms, checks and hashes them.
        dealId: body.dealId,
        auditorId: auditor.id,
        reason: body.reason,
        fields: [...new Set(body.fields)],
        approvalTimeoutMs: this.config.disclosureApprovalTimeoutMs,
        viewMs: this.config.disclosureViewMs,
      },
      this.search?.attributes('disclosure', [auditor.id]),
    );
    const status = await this.status(body.disclosureId);
    if (!created && (status.auditorId !== auditor.id || status.dealId !== body.dealId))
      throw new ApiError('id_taken', `disclosure id ${body.disclosureId} is taken; choose another`);
    return { created, status };
  }

  /**
   * The coordinator's own check of the subject, asked before the disclosure starts, so a subject it
   * would refuse is a 422 with its reason rather than a 201 and a failed workflow. The coordinator
   * still checks when the disclosure runs: that is the protection, this is the answer to the auditor.
   */
  private async requireSignedSubject(dealId: string): Promise<void> {
    if (!this.keys) return;
    const terms = await this.calls.query(dealId, dealTermsQuery, `deal ${dealId}`);
    const checked = await checkSubjectTerms(dealId, terms, this.keys);
    if (!checked.ok) throw new ApiError('subject_refused', checked.reason);
  }

  /** A one-time or a multi-seller deal: both are disclosed alike. */
  private async deal(dealId: string): Promise<DealStatus | MultiSellerDealStatus> {
    try {
      return await this.calls.query(dealId, dealStatusQuery, `deal ${dealId}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'not_found')) throw error;
      return this.calls.query(dealId, multiSellerStatusQuery, `deal ${dealId}`);
    }
  }

  private status(disclosureId: string): Promise<DisclosureStatus> {
    return this.calls.query(
      disclosureWorkflowId(disclosureId),
      disclosureStatusQuery,
      `disclosure ${disclosureId}`,
    );
  }

  /** The auditor who asked, compliance and the operator see a disclosure. */
  async visibleStatus(party: Party, disclosureId: string): Promise<DisclosureStatus> {
    return disclosureAsSeenBy(party, await this.status(disclosureId));
  }

  async decide(
    party: Party,
    disclosureId: string,
    { decision, ...proof }: { decision: DisclosureDecision } & DecisionProof,
  ): Promise<DisclosureStatus> {
    if (party.role !== 'compliance')
      throw new ApiError('forbidden', 'only compliance principals decide a disclosure');
    // A principal may change its decision while it is pending, not repeat it: the workflow refuses a repeat.
    const status = await this.status(disclosureId);
    // Signed over this run, this deal and its terms, these fields and this auditor (lib/signed-decision.ts).
    const content = { decision, fields: status.fields, auditorId: status.auditorId };
    const signed = signedByParty(party, status.scope, 'disclosure_decision', content, proof);
    return this.calls.update(
      disclosureWorkflowId(disclosureId),
      decideDisclosureUpdate,
      { signed },
      `disclosure ${disclosureId}`,
    );
  }

  /** The hidden fields, for the auditor who asked, while the view is open; the view is recorded first. */
  async view(party: Party, disclosureId: string, { nonce, ...proof }: ViewProof) {
    const status = await this.status(disclosureId);
    requireOwner(
      party,
      status.auditorId,
      `only ${status.auditorId}, who asked, may view disclosure ${disclosureId}`,
    );
    if (status.stage === 'expired')
      throw new ApiError('access_expired', `the view of ${disclosureId} has ended`);
    if (status.stage !== 'approved')
      throw new ApiError(
        'not_approved',
        `disclosure ${disclosureId} is ${status.stage}; it needs two approvals`,
      );
    assertNotExpired(status.viewUntil, `the view of ${disclosureId}`);
    const signed = signedByParty(party, status.scope, 'disclosure_view', { nonce }, proof);
    const deal = await this.deal(status.dealId);
    const fields = hiddenFieldsOf(deal, status.fields);
    await this.calls.update(
      disclosureWorkflowId(disclosureId),
      recordViewUpdate,
      { signed, valuesHash: canonicalHash({ dealId: status.dealId, ...fields }) },
      `disclosure ${disclosureId}`,
    );
    return { disclosureId, dealId: status.dealId, viewUntil: status.viewUntil!, fields };
  }
}
