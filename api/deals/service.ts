import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { x25519KeyDocument } from '../../lib/signed-terms';
import type { BlobStore } from '../../lib/blob-store';
import type { Party } from '../../lib/parties';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { complianceProblem } from '../../query-policies/compliance';
import { cohortQueryDeal, confirmDealUpdate, dealStatusQuery } from '../../workflows/deal/workflow';
import type { DealStatus } from '../../workflows/deal/shapes';
import type { DisputeTerms } from '../../workflows/dispute/state';
import type { PartySearch } from '../listing/party-search';
import { dealAsSeenBy, type VisibleDealStatus } from '../redaction';
import { confirmAsBuyer, sealedResultFor } from './buyer-access';
import { signedByParty, type DecisionProof } from '../signed-decision';
import { ApiError } from '../errors';
import { signedTermsOf } from '../signed-terms';
import { checkSignedMoney } from '../signed-money';
import type { CreateDealBody } from './schemas';
import type { TemplateCatalog } from '../templates/catalog';
import { checkTemplateOrder } from '../templates/order';
import { notFoundOr } from '../error-responses';

export interface DealServiceConfig {
  feeBps: number;
  /** The acceptance window GET /templates suggests; a deal runs on the window its buyer signed. */
  acceptanceTimeoutMs: number;
  /** Reviewer access, resolution timeout and default outcome of a dispute; the workflow's defaults if absent. */
  dispute?: DisputeTerms;
  /** Party tokens for Temporal's visibility (GET /deals); without it, deals are not listed. */
  search?: PartySearch;
}

/** What the deal routes do, apart from HTTP: pre-checks, starting the workflow, reading it. */
export class DealService {
  constructor(
    private readonly temporal: Client,
    private readonly catalog: TemplateCatalog,
    private readonly blobs: BlobStore,
    private readonly config: DealServiceConfig,
  ) {}

  async create(buyer: Party, body: CreateDealBody): Promise<{ created: boolean; status: DealStatus }> {
    const { entry, parameters } = await checkTemplateOrder(this.catalog, body);
    const selections = body.privateSelection?.selectionRefs.length;
    const price = (BigInt(entry.template.price) * BigInt(selections ?? 1)).toString();
    if (price !== body.price) {
      const per = selections ? ` (${entry.template.price} per selection × ${selections})` : '';
      throw new ApiError('price_mismatch', `template ${body.templateId} costs ${price}${per}`);
    }
    if (body.privateSelection) {
      if (!entry.template.privateSelection)
        throw new ApiError(
          'private_selection_not_offered',
          `template ${body.templateId} does not offer private selection`,
        );
      await this.requireBlobs([body.privateSelection.heKeyRef, ...body.privateSelection.selectionRefs]);
    }
    const problem = complianceProblem(entry.template, body.compliance);
    if (problem) throw new ApiError('compliance_refused', problem);
    if (body.sellerId === undefined)
      throw new ApiError(
        'seller_required',
        `name the seller you pay (sellerId: ${entry.template.seller}): your signed terms name the payee`,
      );
    checkSignedMoney(body, this.config.feeBps);
    const terms = signedTermsOf(buyer, 'cohort_query', body);
    const buyerKeyRef = await this.blobs.put(x25519KeyDocument(body.buyerPublicKey));
    try {
      await this.temporal.workflow.start(cohortQueryDeal, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: body.dealId,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        ...(this.config.search
          ? {
              typedSearchAttributes: this.config.search.attributes('deal', [buyer.id, entry.template.seller]),
            }
          : {}),
        args: [
          {
            dealId: body.dealId,
            buyerId: buyer.id,
            sellerId: entry.template.seller,
            templateId: entry.template.id,
            templateHash: entry.hash,
            parameters,
            price,
            ...(body.privateSelection ? { privateSelection: body.privateSelection } : {}),
            feeBps: this.config.feeBps,
            buyerKeyRef,
            compliance: body.compliance,
            // The window the buyer signed; settlement holds the payout to it whatever starts the deal.
            acceptanceTimeoutMs: body.acceptanceWindowSeconds * 1000,
            ...(this.config.dispute ? { dispute: this.config.dispute } : {}),
            ...(this.config.search
              ? { partyTokens: this.config.search.tokens([buyer.id, entry.template.seller]) }
              : {}),
            terms,
          },
        ],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const existing = await this.status(body.dealId);
      if (existing.buyerId !== buyer.id || existing.templateHash !== entry.hash) {
        throw new ApiError('deal_exists', `deal id ${body.dealId} is taken; choose another`);
      }
      return { created: false, status: existing };
    }
    return { created: true, status: await this.status(body.dealId) };
  }

  /** Refuses refs the blob store does not hold: upload them first with POST /blobs. */
  async requireBlobs(refs: string[]): Promise<void> {
    for (const ref of refs)
      if (!(await this.blobs.has(ref)))
        throw new ApiError('unknown_blob', `no blob ${ref}; upload it with POST /blobs`);
  }

  async status(dealId: string): Promise<DealStatus> {
    try {
      return await this.temporal.workflow.getHandle(dealId).query(dealStatusQuery);
    } catch (error) {
      throw notFoundOr(error, `deal ${dealId}`);
    }
  }

  /** The deal as this party may see it (api/redaction.ts). */
  async visibleStatus(party: Party, dealId: string): Promise<VisibleDealStatus> {
    return dealAsSeenBy(party, await this.status(dealId));
  }

  /** The buyer's acceptance, signed over the run and terms the status shows (its `scope`). */
  async confirm(party: Party, dealId: string, proof: DecisionProof): Promise<DealStatus> {
    const status = await this.status(dealId);
    return confirmAsBuyer(party, dealId, status, () => {
      const signed = signedByParty(party, status.scope, 'deal_confirmation', {}, proof);
      return this.temporal.workflow
        .getHandle(dealId)
        .executeUpdate(confirmDealUpdate, { args: [{ signed }] });
    });
  }

  async result(party: Party, dealId: string) {
    return sealedResultFor(this.blobs, party, dealId, await this.status(dealId));
  }
}
