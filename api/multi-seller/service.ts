import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/blob-store';
import { heKeyDocument } from '../../lib/he/buyer-keys';
import { MAX_SELLERS } from '../../lib/he/vector-layout';
import type { Party } from '../../lib/parties';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { complianceProblem } from '../../query-policies/compliance';
import { domainGroups, encodedQuantities } from '../../query-policies/group-domain';
import { parametersSchema, type QueryTemplate } from '../../query-policies/template';
import {
  confirmMultiSellerDealUpdate,
  multiSellerDeal,
  multiSellerStatusQuery,
} from '../../workflows/multi-seller/workflow';
import { MIN_CONTRIBUTORS, type MultiSellerDealStatus } from '../../workflows/multi-seller/shapes';
import type { DealServiceConfig } from '../deals/service';
import { confirmAsBuyer, sealedResultFor } from '../deals/buyer-access';
import { signedByParty, type DecisionProof } from '../signed-decision';
import { ApiError } from '../errors';
import { notFoundOr } from '../error-responses';
import { multiSellerDealAsSeenBy } from '../redaction';
import { signedTermsOf } from '../signed-terms';
import { checkSignedMoney } from '../signed-money';
import type { CreateMultiSellerDealBody } from '../deals/schemas';
import type { TemplateCatalog } from '../templates/catalog';
import { issuesOnOneLine } from '../../lib/zod-issues';

/** What must match across sellers for their vectors to add up: the query and the slot layout. */
const sharedShape = (template: QueryTemplate) =>
  JSON.stringify({
    dataset: template.dataset,
    parameters: template.parameters,
    dimensions: template.dimensions,
    groups: domainGroups(template),
    quantities: encodedQuantities(template),
  });

/** Multi-seller deals apart from HTTP: pre-checks, starting the workflow, reading it. */
export class MultiSellerDealService {
  constructor(
    private readonly temporal: Client,
    private readonly catalog: TemplateCatalog,
    private readonly blobs: BlobStore,
    private readonly config: DealServiceConfig,
  ) {}

  async create(buyer: Party, body: CreateMultiSellerDealBody) {
    const sellerIds = body.sellers.map((seller) => seller.sellerId);
    if (new Set(sellerIds).size < MIN_CONTRIBUTORS)
      throw new ApiError(
        'too_few_sellers',
        `a multi-seller sum needs at least ${MIN_CONTRIBUTORS} distinct sellers`,
      );
    if (sellerIds.length > MAX_SELLERS || new Set(sellerIds).size !== sellerIds.length)
      throw new ApiError('invalid_request', `name each seller once, at most ${MAX_SELLERS}`);
    const entries = await this.catalog.list();
    const shares = body.sellers.map(({ sellerId, templateHash, price: signedShare }) => {
      const entry = entries.find((e) => e.template.id === body.templateId && e.template.seller === sellerId);
      if (!entry)
        throw new ApiError('unknown_template', `seller ${sellerId} offers no signed ${body.templateId}`);
      if (entry.hash !== templateHash)
        throw new ApiError('template_hash_mismatch', `${sellerId}'s ${body.templateId} is now ${entry.hash}`);
      if (!entry.template.multiSeller)
        throw new ApiError(
          'templates_differ',
          `${sellerId}'s ${body.templateId} is not offered for multi-seller sums`,
        );
      if (signedShare !== entry.template.price)
        throw new ApiError(
          'price_mismatch',
          `${sellerId}'s ${body.templateId} costs ${entry.template.price}`,
        );
      return { entry, share: { sellerId, templateHash, price: entry.template.price } };
    });
    const first = shares[0]!.entry.template;
    if (shares.some(({ entry }) => sharedShape(entry.template) !== sharedShape(first)))
      throw new ApiError(
        'templates_differ',
        `the sellers' ${body.templateId} differ in query, groups or metrics`,
      );
    const price = shares.reduce((total, { share }) => total + BigInt(share.price), 0n).toString();
    if (price !== body.price)
      throw new ApiError(
        'price_mismatch',
        `the sellers' prices add up to ${price}; each is paid its own share`,
      );
    const parameters = parametersSchema(first).safeParse(body.parameters);
    if (!parameters.success)
      throw new ApiError('invalid_parameters', issuesOnOneLine(parameters.error, 'parameters'));
    for (const { entry } of shares) {
      const problem = complianceProblem(entry.template, body.compliance);
      if (problem) throw new ApiError('compliance_refused', `${entry.template.seller}: ${problem}`);
    }
    checkSignedMoney(body, this.config.feeBps);
    await this.requireHeKey(body.heKeyRef);
    const terms = signedTermsOf(buyer, 'multi_seller', body);
    try {
      await this.temporal.workflow.start(multiSellerDeal, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: body.dealId,
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        ...(this.config.search
          ? { typedSearchAttributes: this.config.search.attributes('multi_seller', [buyer.id, ...sellerIds]) }
          : {}),
        args: [
          {
            dealId: body.dealId,
            buyerId: buyer.id,
            templateId: body.templateId,
            sellers: shares.map(({ share }) => share),
            parameters: parameters.data,
            heKeyRef: body.heKeyRef,
            compliance: body.compliance,
            feeBps: this.config.feeBps,
            acceptanceTimeoutMs: body.acceptanceWindowSeconds * 1000,
            terms,
          },
        ],
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      const existing = await this.status(body.dealId);
      if (existing.buyerId !== buyer.id) throw new ApiError('deal_exists', `deal id ${body.dealId} is taken`);
      return { created: false, status: existing };
    }
    return { created: true, status: await this.status(body.dealId) };
  }

  private async requireHeKey(ref: string): Promise<void> {
    try {
      heKeyDocument.parse(JSON.parse((await this.blobs.get(ref)).toString('utf8')));
    } catch {
      throw new ApiError(
        'unknown_blob',
        `no BFV key document at ${ref}; make one with tusk buyer keygen --he`,
      );
    }
  }

  async status(dealId: string): Promise<MultiSellerDealStatus> {
    try {
      return await this.temporal.workflow.getHandle(dealId).query(multiSellerStatusQuery);
    } catch (error) {
      throw notFoundOr(error, `multi-seller deal ${dealId}`);
    }
  }

  /** The deal as this party may see it (api/redaction.ts). */
  async visibleStatus(party: Party, dealId: string) {
    return multiSellerDealAsSeenBy(party, await this.status(dealId));
  }

  /** The buyer's acceptance, signed over the run and terms the status shows (its `scope`). */
  async confirm(party: Party, dealId: string, proof: DecisionProof): Promise<MultiSellerDealStatus> {
    const status = await this.status(dealId);
    return confirmAsBuyer(party, dealId, status, () => {
      const signed = signedByParty(party, status.scope, 'deal_confirmation', {}, proof);
      return this.temporal.workflow
        .getHandle(dealId)
        .executeUpdate(confirmMultiSellerDealUpdate, { args: [{ signed }] });
    });
  }

  /** The encrypted sum (never a single seller's part): opens only with the buyer's HE secret key. */
  async result(party: Party, dealId: string) {
    return sealedResultFor(this.blobs, party, dealId, await this.status(dealId));
  }
}
