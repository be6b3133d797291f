import { dealEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { settlementLock, settlementPayout, settlementTx } from '../activity-options';
import type { GuardedStep } from '../guarded-settlement';
import type { CohortQueryDealInput, DealState } from './state';
import { settlementActivities } from '../activity-proxies';
import type { SignedDecision } from '../../lib/decision-statement';

const escrowOpen = settlementActivities(settlementTx);
const escrowLock = settlementActivities(settlementLock);
const escrowPayout = settlementActivities(settlementPayout);

/** The deal's escrow: named by the buyer's signed terms' nonce, so a reused deal id is a new escrow. */
export const escrowOfDeal = (input: CohortQueryDealInput) =>
  dealEscrowId(input.dealId, termsNonceOf(input.terms));

/**
 * The buyer's payment, locked for this deal: the escrow is opened, its address shown in the deal's
 * status (the buyer pays there from its own wallet), then the lock waits until the price is in it.
 */
export async function lockBuyerPayment(deal: DealState, input: CohortQueryDealInput): Promise<void> {
  const payment = {
    dealId: escrowOfDeal(input),
    buyerId: input.buyerId,
    amount: input.price,
    // Checked against the terms before anything is locked: a deal that would pay another seller or
    // fee locks nothing.
    payeeId: input.sellerId,
    feeBps: input.feeBps,
    terms: input.terms,
  };
  const opened = await escrowOpen.openEscrow(payment);
  deal.awaitPayment(opened.escrowAddress);
  await escrowLock.lockEscrow({ ...payment, terms: input.terms });
}

/**
 * After the lock gave up or was refused, the escrow is still the address the buyer was told: a payment
 * that arrives there late goes back to the buyer (watched for one more payment window).
 */
export function returnLatePayments(input: CohortQueryDealInput): GuardedStep {
  return {
    step: 'return-late-payment',
    run: () =>
      escrowLock.returnLatePayments({
        dealId: escrowOfDeal(input),
        payerId: input.buyerId,
        terms: input.terms,
      }),
  };
}

/**
 * Tells settlement, with the perimeter's signed release statement, that the result was delivered:
 * settlement keeps the first time it was told, and pays a deal the buyer did not confirm only once the
 * buyer's signed acceptance window has passed since then. Returns whether it was recorded; a deal
 * whose delivery is not recorded is still paid on the buyer's signed confirmation.
 */
export async function recordDelivery(input: CohortQueryDealInput, release: unknown): Promise<boolean> {
  try {
    await escrowOpen.recordDelivery({ dealId: escrowOfDeal(input), terms: input.terms, release });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pays the seller and the fee and issues the buyer's receipt for the delivered result, in one
 * transaction on Aztec. The receipt shows in the deal's status. `confirmation` is the buyer's signed
 * acceptance when it confirmed: settlement checks it, or else that the signed window has passed.
 */
export function releaseWithReceipt(
  deal: DealState,
  input: CohortQueryDealInput,
  confirmation?: SignedDecision,
): GuardedStep {
  return {
    step: 'release',
    run: async () => {
      const released = await escrowPayout.releaseEscrow({
        dealId: escrowOfDeal(input),
        sellerId: input.sellerId,
        buyerId: input.buyerId,
        amount: input.price,
        feeBps: input.feeBps,
        terms: input.terms,
        ...(deal.commitment ? { receiptFor: deal.commitment } : {}),
        ...(confirmation ? { confirmation } : {}),
        // Without a confirmation, the release statement lets settlement record a delivery it missed.
        ...(!confirmation && deal.snapshot().result?.release
          ? { release: deal.snapshot().result!.release }
          : {}),
      });
      if (released.receipt)
        deal.recordReceipt({ id: released.receipt.receiptId, salt: released.receipt.salt });
    },
  };
}
