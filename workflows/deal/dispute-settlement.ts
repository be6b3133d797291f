import { executeChild } from '@temporalio/workflow';
import { lifecycleSearchAttributes } from '../../lib/search-attributes';
import type { CoordinatorActivities } from '../../activities/coordinator/activities';
import type { SettlementActivities } from '../../activities/settlement/activities';
import { disputeEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { escrowOfDeal } from './settlement-steps';
import type { CohortQueryDealInput, DealState } from './state';
import { dispute } from '../dispute/workflow';
import { DEFAULT_DISPUTE_TERMS, sellerShare } from '../dispute/state';
import { notifyBestEffort } from '../notify';
import { disputeWorkflowId } from '../../lib/ids/workflow-ids';
import type { GuardedStep } from '../guarded-settlement';

/** The `dispute` child decides; the escrow, frozen meanwhile, is then released, refunded or split. */
export async function settleByDispute(
  input: CohortQueryDealInput,
  deal: DealState,
  payout: SettlementActivities,
  coordinator: CoordinatorActivities,
  settle: (steps: GuardedStep[]) => Promise<void>,
): Promise<void> {
  const opened = deal.snapshot().dispute!;
  const otherParty = opened.openedBy === input.buyerId ? input.sellerId : input.buyerId;
  await notifyBestEffort(coordinator, otherParty, input.dealId, 'dispute_opened');
  const resolution = await executeChild(dispute, {
    workflowId: disputeWorkflowId(input.dealId),
    ...(input.partyTokens
      ? { typedSearchAttributes: lifecycleSearchAttributes('dispute', input.partyTokens) }
      : {}),
    args: [
      {
        ...(input.dispute ?? DEFAULT_DISPUTE_TERMS),
        dealId: input.dealId,
        terms: input.terms,
        buyerId: input.buyerId,
        sellerId: input.sellerId,
        price: input.price,
        openedBy: opened.openedBy,
        reason: opened.reason,
      },
    ],
  });
  deal.disputeResolved({
    outcome: resolution.outcome,
    resolvedBy: resolution.resolvedBy,
    auditRef: resolution.auditRef,
  });
  const { buyerId, sellerId, price, feeBps, terms } = input;
  const dealId = escrowOfDeal(input);
  const outcome = resolution.outcome;
  // The compliance principals' signed votes, or the seller's signed concession: settlement refunds or
  // splits a delivered deal only on them.
  const votes = resolution.votes ?? [];
  const consent = resolution.consent;
  switch (outcome.kind) {
    case 'release':
      await settle([
        {
          step: 'release',
          run: () => payout.releaseEscrow({ dealId, sellerId, buyerId, amount: price, feeBps, terms }),
        },
      ]);
      deal.advance('settled', Date.now());
      break;
    case 'refund':
      await settle([
        {
          step: 'refund',
          run: () =>
            payout.refundEscrow({
              dealId,
              buyerId,
              amount: price,
              terms,
              ...(consent ? { consent } : { votes }),
            }),
        },
      ]);
      deal.advance('refunded', Date.now());
      break;
    case 'split': {
      // Seller (less the fee), fee and buyer paid from the frozen escrow at once.
      const sellerAmount = sellerShare(price, outcome.sellerBps);
      await settle([
        {
          step: 'split',
          run: () =>
            payout.splitEscrow({
              dealId,
              splitId: disputeEscrowId(input.dealId, termsNonceOf(terms)),
              sellerId,
              buyerId,
              amount: price,
              sellerAmount,
              feeBps,
              terms,
              votes,
            }),
        },
      ]);
      deal.advance('settled', Date.now());
      break;
    }
  }
  const event = deal.stage === 'refunded' ? 'deal_refunded' : 'deal_settled';
  for (const partyId of [buyerId, sellerId])
    await notifyBestEffort(coordinator, partyId, input.dealId, event);
}
