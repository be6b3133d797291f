import { log, proxyActivities } from '@temporalio/workflow';
import type { SettlementActivities } from '../../activities/settlement/activities';
import { dealEscrowId } from '../../activities/settlement/types';
import { settlementLock, settlementReceipt, settlementTx } from '../activity-options';
import type { CohortQueryDealInput, DealState } from './state';

const escrowOpen = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementTx });
const escrowLock = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementLock });
const receipts = proxyActivities<SettlementActivities>({ taskQueue: 'settlement', ...settlementReceipt });

/**
 * The buyer's payment, locked for this deal: the escrow is opened, its address shown in the deal's
 * status (the buyer pays there from its own wallet), then the lock waits until the price is in it.
 */
export async function lockBuyerPayment(deal: DealState, input: CohortQueryDealInput): Promise<void> {
  const payment = { dealId: dealEscrowId(input.dealId), buyerId: input.buyerId, amount: input.price };
  const opened = await escrowOpen.openEscrow(payment);
  deal.awaitPayment(opened.escrowAddress);
  await escrowLock.lockEscrow(payment);
}

/**
 * The buyer's receipt for the delivered result, after the seller was paid. The deal is settled either
 * way: a receipt that cannot be recorded is logged, and the status shows none.
 */
export async function recordDealReceipt(deal: DealState, input: CohortQueryDealInput): Promise<void> {
  const commitment = deal.commitment;
  if (!commitment) return;
  try {
    const recorded = await receipts.recordReceipt({
      dealId: dealEscrowId(input.dealId),
      buyerId: input.buyerId,
      commitment,
    });
    deal.recordReceipt({ id: recorded.receiptId, salt: recorded.salt });
  } catch (error) {
    // Activity failures carry a code and a reason, never data (see workflows/activity-problem.ts).
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    log.warn('receipt not recorded', {
      dealId: input.dealId,
      reason: cause instanceof Error ? cause.message : 'unknown',
    });
  }
}
