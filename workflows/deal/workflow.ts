import {
  ActivityCancellationType,
  condition,
  defineQuery,
  defineUpdate,
  patched,
  setHandler,
} from '@temporalio/workflow';
import type { PerimeterActivities } from '../../activities/perimeter/activities';
import { coordinatorNotify, perimeterCheck, perimeterQuery, settlementPayout } from '../activity-options';
import { problemOf, refusalCarriedBy } from '../activity-problem';
import type { RefusalStatement } from '../../lib/refusal-statement';
import { notifyBestEffort } from '../notify';
import { DealState, type CohortQueryDealInput, type DealProblem, type DealStatus } from './state';
import { settleByDispute } from './dispute-settlement';
import { disputeWorkflowId } from '../../lib/ids/workflow-ids';
import {
  escrowOfDeal,
  lockBuyerPayment,
  recordDelivery,
  releaseWithReceipt,
  returnLatePayments,
} from './settlement-steps';
import { handleOperatorRetry, settleGuarded, type GuardedStep } from '../guarded-settlement';
import { ACCEPTANCE_CLOCK_MARGIN_MS, dealTermsQuery, signedAcceptanceWindowMs } from '../deal-terms';
import { coordinatorActivities, perimeterActivities, settlementActivities } from '../activity-proxies';
import type { ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { asRefusal, assertDecides, scopeOf, termsHashOf, verifiedSigner } from '../verified-decision';
import { cohortQueryDealInput } from './shapes';
import { checkWorkflowInput } from '../workflow-input';
import { EXPIRY_CLOCK_MARGIN_MS, expiryCheckAtMs } from '../../lib/terms-expiry';
import { beforeExpiry, confirmedExpiry, expiredUnanswered } from '../expiry-wait';

export const dealStatusQuery = defineQuery<DealStatus>('dealStatus');
/** The buyer's signed acceptance of this run's delivered result (content `{}`): the seller is paid now. */
export interface ConfirmDealRequest {
  signed: SignedDecision<Record<string, never>>;
}
export const confirmDealUpdate = defineUpdate<DealStatus, [ConfirmDealRequest]>('confirmDeal');

/** The buyer's or the seller's signed opening, its reason in the signed content; the signer opened it. */
export interface OpenDisputeRequest {
  signed: SignedDecision<{ reason: string }>;
}
/** Either party, within the acceptance window: the escrow stays frozen until the dispute resolves. */
export const openDisputeUpdate = defineUpdate<DealStatus, [OpenDisputeRequest]>('openDispute');

/**
 * A one-time cohort query: the seller's perimeter checks compliance and reserves the buyer's privacy
 * budget, the buyer's payment is locked, the signed template runs inside the perimeter, the sealed
 * result is delivered, the buyer confirms (or the acceptance timer does), and the seller is paid.
 * Each step that succeeds pushes its compensation; a failure runs them in reverse (saga).
 */
export async function cohortQueryDeal(input: CohortQueryDealInput): Promise<DealStatus> {
  checkWorkflowInput(cohortQueryDealInput, input, 'deal');
  const deal = new DealState(input, Date.now());
  setHandler(dealStatusQuery, () => deal.snapshot());
  setHandler(dealTermsQuery, () => input.terms);
  // What each party's signed decision must say on this run: the buyer's acceptance, a party's dispute.
  const confirmation = (): ExpectedDecision => ({
    scope: deal.scope,
    action: 'deal_confirmation',
    principal: input.buyerId,
    content: {},
  });
  const opening = (signed: SignedDecision<{ reason: string }> | undefined): ExpectedDecision => ({
    scope: deal.scope,
    action: 'dispute_opening',
    content: { reason: signed?.statement?.content?.reason },
  });
  // The buyer's signed acceptance, once counted: settlement checks it again before paying.
  let buyerConfirmation: SignedDecision | undefined;
  setHandler(
    confirmDealUpdate,
    async ({ signed }) => {
      await verifiedSigner(signed, confirmation());
      // The acceptance timer may have confirmed (or a dispute opened) while the signature was checked.
      asRefusal(() => deal.confirm('buyer', Date.now()));
      buyerConfirmation = signed;
      return deal.snapshot();
    },
    {
      // `request` may be absent: the update's old shape took no argument.
      validator: (request?: ConfirmDealRequest) => {
        deal.assertConfirmable();
        assertDecides(request?.signed, confirmation());
      },
    },
  );
  setHandler(
    openDisputeUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, opening(signed));
      const { reason } = signed.statement.content;
      asRefusal(() => deal.openDispute(by.principal, reason, disputeWorkflowId(input.dealId), Date.now()));
      return deal.snapshot();
    },
    {
      validator: (request?: OpenDisputeRequest) => {
        assertDecides(request?.signed, opening(request?.signed));
        const { principal, content } = request!.signed.statement;
        deal.assertDisputable(String(principal));
        deal.assertDisputeReason(content.reason);
      },
    },
  );
  handleOperatorRetry(deal.attention);
  /** Runs money steps each in its own guard; failed ones hold the deal in needs_attention until they succeed. */
  // `why`: the problem being unwound, shown (with the failed steps) only once the deal waits.
  const settle = (steps: GuardedStep[], why?: DealProblem) =>
    settleGuarded(steps, deal.attention, () => {
      if (why) deal.recordProblem(why);
      deal.needsAttention(Date.now());
    });

  // Decisions are bound to the buyer's terms: their hash is taken before any decision counts.
  // Patch `signed-party-decisions` (issue 20): runs from before replay without it (and take none).
  if (patched('signed-party-decisions'))
    deal.setScope(scopeOf({ id: input.dealId, termsHash: await termsHashOf(input.terms) }));

  const checks = perimeterActivities<PerimeterActivities>(input.sellerId, perimeterCheck);
  const perimeter = perimeterActivities<PerimeterActivities>(input.sellerId, perimeterQuery);
  // The query as the expiry timer may abandon it: a perimeter that is down does not hold the deal.
  const abandonable = perimeterActivities<PerimeterActivities>(input.sellerId, {
    ...perimeterQuery,
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  });
  const escrowPayout = settlementActivities(settlementPayout);
  const coordinator = coordinatorActivities(coordinatorNotify);
  /**
   * The buyer's notAfter passed with no answer: the perimeter signs that it never released one (the
   * deal then fails with that refusal, and is refunded on it), or says it did: its stored answer is
   * then asked for again, which it serves whenever asked.
   */
  const answerOrExpiry = async () => {
    const notAfter = expiryCheckAtMs(input.terms)! - EXPIRY_CLOCK_MARGIN_MS;
    deal.awaitExpiry(notAfter, 1, Date.now());
    const expiry = await confirmedExpiry(
      input.sellerId,
      { dealId: input.dealId, terms: input.terms },
      deal.expiry,
    );
    if ('refusal' in expiry) throw expiredUnanswered(expiry.refusal, notAfter);
    deal.advance('query_running', Date.now());
    return perimeter.runApprovedQuery(query);
  };
  // Most recent first; each runs in its own guard, so a refund that fails does not keep the budget.
  const compensations: GuardedStep[] = [];
  const fail = async (error: unknown, stage: 'failed' | 'refunded') => {
    const problem = problemOf(error);
    await settle(compensations, problem);
    deal.fail(problem, stage, Date.now());
    return deal.snapshot();
  };

  try {
    await checks.reservePrivacyBudget({
      dealId: input.dealId,
      buyerId: input.buyerId,
      templateId: input.templateId,
      templateHash: input.templateHash,
      parameters: input.parameters,
      compliance: input.compliance,
      terms: input.terms,
    });
  } catch (error) {
    return fail(error, 'failed');
  }
  compensations.unshift({
    step: 'release-budget',
    run: () => checks.releasePrivacyBudget({ dealId: input.dealId }),
  });
  deal.advance('budget_reserved', Date.now());

  try {
    await lockBuyerPayment(deal, input);
  } catch (error) {
    await fail(error, 'failed');
    // The deal is over, but the buyer may still pay the address it was given: that goes back. An
    // escrow settlement refused to open was given to nobody.
    // Patch `no-late-watch-unopened` (signed money, issue 20): runs from before still watch.
    if (deal.snapshot().escrow || !patched('no-late-watch-unopened'))
      await settle([returnLatePayments(input)]);
    if (deal.stage === 'needs_attention') deal.advance('failed', Date.now());
    return deal.snapshot();
  }
  // The perimeter's signed refusal, when it refused the query: settlement refunds an undelivered deal
  // on it (or once the buyer's signed notAfter has passed).
  let refusal: RefusalStatement | undefined;
  let withdrawIfUnrefused = false;
  compensations.unshift({
    step: 'refund',
    run: async () => {
      // No signed refusal (the query timed out, the worker crashed): the perimeter is asked to
      // withdraw the deal, which it signs unless it released an answer; else notAfter must pass.
      if (withdrawIfUnrefused && !refusal)
        ({ refusal } = await checks
          .withdrawDeal({ dealId: input.dealId, terms: input.terms })
          .catch(() => ({ refusal: undefined })));
      return escrowPayout.refundEscrow({
        dealId: escrowOfDeal(input),
        buyerId: input.buyerId,
        amount: input.price,
        terms: input.terms,
        ...(refusal ? { refusal } : {}),
      });
    },
  });
  deal.advance('escrow_locked', Date.now());

  deal.advance('query_running', Date.now());
  const query = {
    dealId: input.dealId,
    buyerId: input.buyerId,
    templateId: input.templateId,
    templateHash: input.templateHash,
    parameters: input.parameters,
    buyerKeyRef: input.buyerKeyRef,
    privateSelection: input.privateSelection,
    terms: input.terms,
  };
  // Patch `expiry-refund-timer` (issue 20): once the buyer's notAfter (+ the clock margin) passes
  // unanswered, the perimeter is asked to confirm the expiry and the escrow goes back on its signed
  // refusal. Runs from before wait for the query (or the operator) as they did.
  const expiresAt = patched('expiry-refund-timer') ? expiryCheckAtMs(input.terms) : undefined;
  try {
    const answer = await beforeExpiry(
      () => (expiresAt === undefined ? perimeter : abandonable).runApprovedQuery(query),
      expiresAt,
    );
    deal.deliver(answer.answered ? answer.value : await answerOrExpiry(), Date.now());
  } catch (error) {
    // Patch `perimeter-refusal-statement` (issue 20): runs from before refund without it.
    if (patched('perimeter-refusal-statement')) {
      refusal = refusalCarriedBy(error);
      withdrawIfUnrefused = true;
    }
    const status = await fail(error, 'refunded');
    await notifyBestEffort(coordinator, input.buyerId, input.dealId, 'deal_refunded');
    return status;
  }
  // The window the buyer signed, counted from when settlement recorded the delivery: settlement pays
  // an unconfirmed deal no sooner. Patch `signed-acceptance-window` (issue 20): runs from before keep
  // the deployment's window.
  let acceptanceMs = input.acceptanceTimeoutMs;
  if (patched('signed-acceptance-window')) {
    await recordDelivery(input, deal.snapshot().result?.release);
    const signedMs = signedAcceptanceWindowMs(input.terms);
    if (signedMs !== undefined) acceptanceMs = signedMs + ACCEPTANCE_CLOCK_MARGIN_MS;
  }
  await notifyBestEffort(coordinator, input.buyerId, input.dealId, 'result_ready');

  await condition(() => deal.stage !== 'delivered', acceptanceMs);
  if (deal.stage === 'disputed') {
    await settleByDispute(input, deal, escrowPayout, coordinator, settle);
    return deal.snapshot();
  }
  if (deal.stage === 'delivered') deal.confirm('acceptance_timer', Date.now());

  await settle([releaseWithReceipt(deal, input, buyerConfirmation)]);
  deal.advance('settled', Date.now());
  await notifyBestEffort(coordinator, input.sellerId, input.dealId, 'deal_settled');
  return deal.snapshot();
}
