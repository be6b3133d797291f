import type { Client, UpdateDefinition } from '@temporalio/client';
import { accessTokenHash } from '../../lib/access-token';
import type { BlobStore } from '../../lib/blob-store';
import { x25519KeyDocument } from '../../lib/signed-terms';
import type { Party } from '../../lib/parties';
import {
  cancelSubscriptionUpdate,
  concedePeriodUpdate,
  disputePeriodUpdate,
  paymentReadyUpdate,
  subscription,
  subscriptionStatusQuery,
} from '../../workflows/subscription/workflow';
import type { SubscriptionStatus } from '../../workflows/subscription/shapes';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { complianceProblem } from '../../query-policies/compliance';
import { ApiError } from '../errors';
import { signedByParty, type DecisionProof } from '../signed-decision';
import { requireOwner, subscriptionAsSeenBy } from '../redaction';
import { signedTermsOf } from '../signed-terms';
import { checkSignedMoney } from '../signed-money';
import type { LifecycleConfig } from '../lifecycle-config';
import type {
  ConcedePeriodBody,
  CreateSubscriptionBody,
  DisputePeriodBody,
  PaymentReadyBody,
} from './schemas';
import type { TemplateCatalog } from '../templates/catalog';
import { checkTemplateOrder } from '../templates/order';
import { assertAffordable } from '../settlement/affordability';
import type { PartySearch } from '../listing/party-search';
import { assertNotExpired, WorkflowCalls } from '../workflow-calls';

/** Subscriptions apart from HTTP: terms checked, the workflow started, tokens and deliveries served. */
export class SubscriptionService {
  private readonly calls: WorkflowCalls;

  constructor(
    private readonly temporal: Client,
    private readonly catalog: TemplateCatalog,
    private readonly blobs: BlobStore,
    private readonly config: LifecycleConfig & { feeBps: number; search?: PartySearch | undefined },
  ) {
    this.calls = new WorkflowCalls(temporal);
  }

  async create(buyer: Party, body: CreateSubscriptionBody) {
    const periodMs = body.periodSeconds * 1000;
    if (periodMs < this.config.minPeriodMs)
      throw new ApiError('invalid_terms', `a period is at least ${this.config.minPeriodMs / 1000} seconds`);
    const orders = [];
    for (const query of body.queries) orders.push(await checkTemplateOrder(this.catalog, query));
    const sellers = new Set(orders.map(({ entry }) => entry.template.seller));
    if (sellers.size !== 1)
      throw new ApiError('invalid_terms', 'all queries of a subscription are of one seller');
    for (const { entry } of orders) {
      const problem = complianceProblem(entry.template, body.compliance);
      if (problem) throw new ApiError('compliance_refused', `${entry.template.id}: ${problem}`);
    }
    const price = orders.reduce((sum, { entry }) => sum + BigInt(entry.template.price), 0n).toString();
    if (price !== body.pricePerPeriod)
      throw new ApiError('price_mismatch', `these queries cost ${price} per period`);
    if (body.queries.some((q) => q.sellerId === undefined))
      throw new ApiError(
        'seller_required',
        `name the seller you pay in every query (sellerId: ${[...sellers][0]}): your signed terms name the payee`,
      );
    checkSignedMoney(body, this.config.feeBps);
    const terms = signedTermsOf(buyer, 'subscription', body);
    const buyerKeyRef = await this.blobs.put(x25519KeyDocument(body.buyerPublicKey));
    const workflowId = subscriptionWorkflowId(body.subscriptionId);
    // A retried request finds its subscription, whose first payment already left the balance.
    if (!(await this.calls.exists(workflowId)))
      await assertAffordable(
        this.temporal,
        buyer.id,
        price,
        `subscription ${body.subscriptionId}'s first period`,
      );
    const created = await this.calls.startOnce(
      subscription,
      workflowId,
      {
        subscriptionId: body.subscriptionId,
        buyerId: buyer.id,
        sellerId: [...sellers][0]!,
        pricePerPeriod: price,
        feeBps: this.config.feeBps,
        buyerKeyRef,
        compliance: body.compliance,
        queries: orders.map(({ entry, parameters }) => ({
          templateId: entry.template.id,
          templateHash: entry.hash,
          parameters,
        })),
        periodMs,
        graceMs: this.config.subscriptionGraceMs,
        periodsPerRun: this.config.periodsPerRun,
        terms,
      },
      this.config.search?.attributes('subscription', [buyer.id, ...sellers]),
    );
    const status = await this.status(body.subscriptionId);
    if (!created && status.buyerId !== buyer.id)
      throw new ApiError('id_taken', `subscription id ${body.subscriptionId} is taken; choose another`);
    return { created, status };
  }

  status(subscriptionId: string): Promise<SubscriptionStatus> {
    return this.calls.query(
      subscriptionWorkflowId(subscriptionId),
      subscriptionStatusQuery,
      `subscription ${subscriptionId}`,
    );
  }

  /** Its buyer, its seller and the operator see a subscription. */
  /** The subscription as this party may see it (api/redaction.ts). */
  async visibleStatus(party: Party, subscriptionId: string) {
    return subscriptionAsSeenBy(party, await this.status(subscriptionId));
  }

  private async ownStatus(party: Party, subscriptionId: string): Promise<SubscriptionStatus> {
    const status = await this.status(subscriptionId);
    requireOwner(party, status.buyerId, `only the subscriber of ${subscriptionId} may do this`);
    return status;
  }

  /**
   * Asked for the run the cancel is signed over (its `scope`); who may cancel and when (only its
   * subscriber, while it runs) is the workflow's to say.
   */
  async cancel(party: Party, subscriptionId: string, proof: DecisionProof): Promise<SubscriptionStatus> {
    const { scope } = await this.status(subscriptionId);
    const signed = signedByParty(party, scope, 'subscription_cancellation', {}, proof);
    return this.calls.update(
      subscriptionWorkflowId(subscriptionId),
      cancelSubscriptionUpdate,
      { signed },
      `subscription ${subscriptionId}`,
      subscription.name,
    );
  }

  /**
   * The subscriber's signed report that it topped up, over the run and period its status shows (its
   * `scope` and `currentPeriod`); who may report and when (its subscriber, in grace) is the workflow's.
   */
  async paymentReady(
    party: Party,
    subscriptionId: string,
    { period, ...proof }: PaymentReadyBody,
  ): Promise<{ accepted: true }> {
    const { scope } = await this.status(subscriptionId);
    const signed = signedByParty(party, scope, 'subscription_payment_ready', { period }, proof);
    return this.calls.update(
      subscriptionWorkflowId(subscriptionId),
      paymentReadyUpdate,
      { signed },
      `subscription ${subscriptionId}`,
      subscription.name,
    );
  }

  /**
   * The subscriber's signed dispute of the period whose payout its status shows held (`held`), over
   * that period's escrow; who may dispute and when is the workflow's to say.
   */
  async disputePeriod(
    party: Party,
    subscriptionId: string,
    { period, reason, ...proof }: DisputePeriodBody,
  ): Promise<SubscriptionStatus> {
    const { scope, held } = await this.status(subscriptionId);
    if (held?.period !== period)
      throw new ApiError(
        'invalid_state',
        `period ${period} of ${subscriptionId} is not awaiting its payout: a period is disputed after its delivery, before its end`,
      );
    const content = { period, escrowId: held.escrowId, reason };
    const signed = signedByParty(party, scope, 'dispute_opening', content, proof);
    return this.periodUpdate(subscriptionId, disputePeriodUpdate, { signed });
  }

  /** The seller's signed consent to refund a disputed period's escrow (its status's dispute). */
  async concedePeriod(
    party: Party,
    subscriptionId: string,
    { period, ...proof }: ConcedePeriodBody,
  ): Promise<SubscriptionStatus> {
    const { scope, disputes } = await this.status(subscriptionId);
    const dispute = disputes?.find((d) => d.period === period && d.stage === 'open');
    if (!dispute)
      throw new ApiError('invalid_state', `period ${period} of ${subscriptionId} has no open dispute`);
    const signed = signedByParty(party, scope, 'refund_consent', { escrowId: dispute.escrowId }, proof);
    return this.periodUpdate(subscriptionId, concedePeriodUpdate, { period, signed });
  }

  private periodUpdate<A>(
    subscriptionId: string,
    update: UpdateDefinition<SubscriptionStatus, [A]>,
    request: A,
  ): Promise<SubscriptionStatus> {
    const what = `subscription ${subscriptionId}`;
    const workflowId = subscriptionWorkflowId(subscriptionId);
    return this.calls.update(workflowId, update, request, what, subscription.name);
  }

  /** The current period's token, sealed to the buyer: only the buyer's X25519 key opens it. */
  async sealedToken(party: Party, subscriptionId: string) {
    const status = await this.ownStatus(party, subscriptionId);
    const token = status.tokens.filter((t) => !t.expired && Date.now() < t.expiresAt).at(-1);
    if (!token) throw new ApiError('invalid_state', `subscription ${subscriptionId} has no working token`);
    const sealed = await this.blobs.get(token.sealedTokenRef);
    return {
      subscriptionId,
      period: token.period,
      expiresAt: token.expiresAt,
      sealedToken: sealed.toString('base64'),
    };
  }

  /** A period's sealed results, for the buyer presenting a token that still works. */
  async delivery(party: Party, subscriptionId: string, period: number, accessToken: string | undefined) {
    const status = await this.ownStatus(party, subscriptionId);
    const hash = accessToken ? accessTokenHash(accessToken) : undefined;
    const token = status.tokens.find((t) => t.tokenHash === hash);
    if (!token)
      throw new ApiError('access_token_invalid', `present a current access token of ${subscriptionId}`);
    if (token.expired)
      throw new ApiError('access_expired', `the access token of period ${token.period} has ended`);
    assertNotExpired(token.expiresAt, `the access token of period ${token.period}`);
    const delivery = status.deliveries.find((d) => d.period === period);
    if (!delivery) throw new ApiError('not_found', `no delivery for period ${period} of ${subscriptionId}`);
    const results = await Promise.all(
      delivery.results.map(async (result) =>
        'problem' in result
          ? result
          : {
              queryIndex: result.queryIndex,
              runId: result.runId,
              commitment: result.commitment,
              ciphertext: (await this.blobs.get(result.resultRef)).toString('base64'),
              ...(result.release ? { release: result.release } : {}),
            },
      ),
    );
    return { subscriptionId, period, results };
  }
}
