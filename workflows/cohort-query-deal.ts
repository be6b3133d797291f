import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { CoordinatorActivities } from '../activities/coordinator/activities';
import type { PerimeterActivities } from '../activities/perimeter/activities';
import type { SettlementActivities } from '../activities/settlement/activities';
import { coordinatorNotify, perimeterQuery, settlementPayout } from './activity-options';
import { DealState, type CohortQueryDealInput, type DealProblem, type DealStatus } from './deal-state';
import { lockBuyerPayment, recordDealReceipt } from './settlement-steps';

export const dealStatusQuery = defineQuery<DealStatus>('dealStatus');
export const confirmDealUpdate = defineUpdate<DealStatus>('confirmDeal');

/** The code and reason a failed activity carries, safe to show: activities never put data in errors. */
function problemOf(error: unknown): DealProblem {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure)
    return { code: cause.type ?? 'ActivityFailed', reason: cause.message };
  return { code: 'ActivityFailed', reason: cause instanceof Error ? cause.message : 'unknown failure' };
}

/**
 * A one-time cohort query: lock the buyer's payment, run the seller's signed template inside the
 * seller's perimeter, deliver the sealed result, wait for the buyer to confirm (or the acceptance
 * timer), then pay the seller. A refused or failed query refunds the buyer.
 */
export async function cohortQueryDeal(input: CohortQueryDealInput): Promise<DealStatus> {
  const deal = new DealState(input, Date.now());
  setHandler(dealStatusQuery, () => deal.snapshot());
  setHandler(
    confirmDealUpdate,
    () => {
      deal.confirm('buyer', Date.now());
      return deal.snapshot();
    },
    { validator: () => deal.assertConfirmable() },
  );

  const escrowPayout = proxyActivities<SettlementActivities>({
    taskQueue: 'settlement',
    ...settlementPayout,
  });
  const perimeter = proxyActivities<PerimeterActivities>({
    taskQueue: `perimeter.${input.sellerId}`,
    ...perimeterQuery,
  });
  const coordinator = proxyActivities<CoordinatorActivities>({
    taskQueue: 'coordinator',
    ...coordinatorNotify,
  });

  try {
    await lockBuyerPayment(deal, input);
  } catch (error) {
    deal.fail(problemOf(error), 'failed', Date.now());
    return deal.snapshot();
  }
  deal.advance('escrow_locked', Date.now());

  deal.advance('query_running', Date.now());
  try {
    const result = await perimeter.runApprovedQuery({
      dealId: input.dealId,
      templateId: input.templateId,
      templateHash: input.templateHash,
      parameters: input.parameters,
      buyerKeyRef: input.buyerKeyRef,
    });
    deal.deliver(result, Date.now());
  } catch (error) {
    // Compensation: the buyer gets the payment back.
    await escrowPayout.refundEscrow({ dealId: input.dealId, buyerId: input.buyerId, amount: input.price });
    deal.fail(problemOf(error), 'refunded', Date.now());
    await notifyBestEffort(coordinator, input.buyerId, input.dealId, 'deal_refunded');
    return deal.snapshot();
  }
  await notifyBestEffort(coordinator, input.buyerId, input.dealId, 'result_ready');

  const confirmedByBuyer = await condition(() => deal.stage === 'confirmed', input.acceptanceTimeoutMs);
  if (!confirmedByBuyer) deal.confirm('acceptance_timer', Date.now());

  await escrowPayout.releaseEscrow({
    dealId: input.dealId,
    sellerId: input.sellerId,
    buyerId: input.buyerId,
    amount: input.price,
    feeBps: input.feeBps,
  });
  deal.advance('settled', Date.now());
  await recordDealReceipt(deal, input);
  await notifyBestEffort(coordinator, input.sellerId, input.dealId, 'deal_settled');
  return deal.snapshot();
}

async function notifyBestEffort(
  coordinator: CoordinatorActivities,
  partyId: string,
  dealId: string,
  event: 'result_ready' | 'deal_refunded' | 'deal_settled',
): Promise<void> {
  try {
    await coordinator.notifyParty({ partyId, dealId, event });
  } catch (error) {
    log.warn('notification not sent', { dealId, event, error: problemOf(error).code });
  }
}
