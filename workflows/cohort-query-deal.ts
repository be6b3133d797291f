import { condition, defineQuery, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { CoordinatorActivities } from '../activities/coordinator/activities';
import type { PerimeterActivities } from '../activities/perimeter/activities';
import type { SettlementActivities } from '../activities/settlement/activities';
import { coordinatorNotify, perimeterQuery, settlementLock, settlementPayout } from './activity-options';
import { problemOf } from './activity-problem';
import { notifyBestEffort } from './notify';
import { DealState, type CohortQueryDealInput, type DealStatus } from './deal-state';
import { settleByDispute } from './dispute-settlement';
import { disputeWorkflowId } from './workflow-ids';

export const dealStatusQuery = defineQuery<DealStatus>('dealStatus');
export const confirmDealUpdate = defineUpdate<DealStatus>('confirmDeal');

export interface OpenDisputeRequest {
  by: string;
  reason: string;
}
/** Either party, within the acceptance window: the escrow stays frozen until the dispute resolves. */
export const openDisputeUpdate = defineUpdate<DealStatus, [OpenDisputeRequest]>('openDispute');

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
  setHandler(
    openDisputeUpdate,
    ({ by, reason }) => {
      deal.openDispute(by, reason, disputeWorkflowId(input.dealId), Date.now());
      return deal.snapshot();
    },
    { validator: ({ by }: OpenDisputeRequest) => deal.assertDisputable(by) },
  );

  const escrowLock = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementLock });
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
    await escrowLock.lockEscrow({ dealId: input.dealId, buyerId: input.buyerId, amount: input.price });
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

  await condition(() => deal.stage !== 'delivered', input.acceptanceTimeoutMs);
  if (deal.stage === 'disputed') {
    await settleByDispute(input, deal, escrowPayout, coordinator);
    return deal.snapshot();
  }
  if (deal.stage === 'delivered') deal.confirm('acceptance_timer', Date.now());

  await escrowPayout.releaseEscrow({
    dealId: input.dealId,
    sellerId: input.sellerId,
    amount: input.price,
    feeBps: input.feeBps,
  });
  deal.advance('settled', Date.now());
  await notifyBestEffort(coordinator, input.sellerId, input.dealId, 'deal_settled');
  return deal.snapshot();
}
