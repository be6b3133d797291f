import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  patched,
  setHandler,
} from '@temporalio/workflow';
import type { PerimeterActivities } from '../../activities/perimeter/activities';
import {
  coordinatorSum,
  perimeterCheck,
  perimeterQuery,
  settlementLock,
  settlementPayout,
  settlementTx,
} from '../activity-options';
import { handleOperatorRetry, settleGuarded, type GuardedStep } from '../guarded-settlement';
import { shareEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import type { DealProblem } from '../deal/shapes';
import { MultiSellerDealState } from './state';
import {
  MIN_CONTRIBUTORS,
  multiSellerDealInput,
  type MultiSellerDealInput,
  type MultiSellerDealStatus,
  type SellerShare,
} from './shapes';
import { ACCEPTANCE_CLOCK_MARGIN_MS, dealTermsQuery, signedAcceptanceWindowMs } from '../deal-terms';
import { coordinatorActivities, perimeterActivities, settlementActivities } from '../activity-proxies';
import type { ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { asRefusal, assertDecides, scopeOf, termsHashOf, verifiedSigner } from '../verified-decision';
import { checkWorkflowInput } from '../workflow-input';
import { refusalCarriedBy } from '../activity-problem';
import type { RefusalStatement } from '../../lib/refusal-statement';
import { EXPIRY_CLOCK_MARGIN_MS, expiryCheckAtMs } from '../../lib/terms-expiry';
import { beforeExpiry, confirmedExpiry, expiredUnanswered } from '../expiry-wait';

export const multiSellerStatusQuery = defineQuery<MultiSellerDealStatus>('multiSellerDealStatus');
/** The buyer's signed acceptance of this run's delivered sum (content `{}`): every share is paid now. */
export interface ConfirmMultiSellerDealRequest {
  signed: SignedDecision<Record<string, never>>;
}
export const confirmMultiSellerDealUpdate = defineUpdate<
  MultiSellerDealStatus,
  [ConfirmMultiSellerDealRequest]
>('confirmMultiSellerDeal');

function problemOf(error: unknown): DealProblem {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure)
    return { code: cause.type ?? 'ActivityFailed', reason: cause.message };
  return { code: 'ActivityFailed', reason: cause instanceof Error ? cause.message : 'unknown failure' };
}

/**
 * A sum over several sellers' perimeters that no one sees a part of: each perimeter reserves the
 * buyer's budget, releases its own thresholded, noised table and encrypts it to the buyer's HE key;
 * the coordinator adds the ciphertexts; the buyer receives only the sum. Fewer than two contributing
 * sellers refuse the deal. Each seller's share of the price is escrowed and paid on its own. Only
 * blob references cross this workflow; a failure runs the compensations in reverse (saga).
 */
export async function multiSellerDeal(input: MultiSellerDealInput): Promise<MultiSellerDealStatus> {
  checkWorkflowInput(multiSellerDealInput, input, 'multi-seller deal');
  const deal = new MultiSellerDealState(input, Date.now());
  setHandler(multiSellerStatusQuery, () => deal.snapshot());
  setHandler(dealTermsQuery, () => input.terms);
  const confirmation = (): ExpectedDecision => ({
    scope: deal.scope,
    action: 'deal_confirmation',
    principal: input.buyerId,
    content: {},
  });
  // The buyer's signed acceptance, once counted: settlement checks it again before paying each share.
  let buyerConfirmation: SignedDecision | undefined;
  setHandler(
    confirmMultiSellerDealUpdate,
    async ({ signed }) => {
      await verifiedSigner(signed, confirmation());
      asRefusal(() => deal.confirm('buyer', Date.now()));
      buyerConfirmation = signed;
      return deal.snapshot();
    },
    {
      // `request` may be absent: the update's old shape took no argument.
      validator: (request?: ConfirmMultiSellerDealRequest) => {
        deal.assertConfirmable();
        assertDecides(request?.signed, confirmation());
      },
    },
  );
  handleOperatorRetry(deal.attention);
  // `why`: the problem being unwound, shown (with the failed steps) only once the deal waits.
  const settle = (steps: GuardedStep[], why?: DealProblem) =>
    settleGuarded(steps, deal.attention, () => {
      if (why) deal.recordProblem(why);
      deal.needsAttention(Date.now());
    });

  // The confirmation is bound to the buyer's terms. Patch `signed-multi-seller-window` (issue 20):
  // runs from before replay without it (and take no confirmation, only the timer).
  const signedWindow = patched('signed-multi-seller-window');
  if (signedWindow) deal.setScope(scopeOf({ id: input.dealId, termsHash: await termsHashOf(input.terms) }));
  // Patch `perimeter-refusal-statement` (issue 20): each share's refund carries its seller's signed
  // refusal (or withdrawal). Runs from before refund without one.
  const signedRefusals = patched('perimeter-refusal-statement');

  // `abandonable`: the expiry timer may leave a query behind, so a perimeter that is down holds nothing.
  const perimeterOf = (sellerId: string, abandonable = false) => ({
    checks: perimeterActivities<PerimeterActivities>(sellerId, perimeterCheck),
    query: perimeterActivities<PerimeterActivities>(
      sellerId,
      abandonable
        ? { ...perimeterQuery, cancellationType: ActivityCancellationType.TRY_CANCEL }
        : perimeterQuery,
    ),
  });
  const escrowOpen = settlementActivities(settlementTx);
  const escrowLock = settlementActivities(settlementLock);
  const escrowPayout = settlementActivities(settlementPayout);
  const coordinator = coordinatorActivities(coordinatorSum);
  // Most recent first; each in its own guard (a failed refund waits for the operator, the rest run).
  const compensations: GuardedStep[] = [];
  // Each seller's signed refusal of its contribution, by seller: its share's refund carries it.
  const refusals = new Map<string, RefusalStatement>();
  const fail = async (problem: DealProblem, stage: 'failed' | 'refunded') => {
    await settle(compensations, problem);
    deal.fail(problem, stage, Date.now());
    return deal.snapshot();
  };
  const request = (share: SellerShare) => ({
    dealId: input.dealId,
    buyerId: input.buyerId,
    templateId: input.templateId,
    templateHash: share.templateHash,
    parameters: input.parameters,
    terms: input.terms,
  });

  // Each perimeter decides for itself; a seller that refuses simply does not contribute.
  const reserved = await Promise.all(
    input.sellers.map(async (share) => {
      try {
        await perimeterOf(share.sellerId).checks.reservePrivacyBudget({
          ...request(share),
          compliance: input.compliance,
        });
        return share;
      } catch {
        return undefined;
      }
    }),
  );
  const contributors = reserved.filter((share): share is SellerShare => share !== undefined);
  for (const share of contributors)
    compensations.unshift({
      step: `release-budget:${share.sellerId}`,
      run: () => perimeterOf(share.sellerId).checks.releasePrivacyBudget({ dealId: input.dealId }),
    });
  if (contributors.length < MIN_CONTRIBUTORS) {
    return fail(
      {
        code: 'TooFewSellers',
        reason: `${contributors.length} of ${input.sellers.length} sellers accepted; a sum needs at least ${MIN_CONTRIBUTORS}`,
      },
      'failed',
    );
  }
  deal.setContributors(contributors);
  deal.advance('budget_reserved', Date.now());

  // Each share has its own escrow: all are opened first, so the buyer sees every address to pay.
  const escrows = contributors.map((share) => ({
    sellerId: share.sellerId,
    payment: {
      dealId: shareEscrowId(input.dealId, share.sellerId, termsNonceOf(input.terms)),
      buyerId: input.buyerId,
      amount: share.price,
      terms: input.terms,
    },
  }));
  try {
    for (const { sellerId, payment } of escrows) {
      const opened = await escrowOpen.openEscrow(payment);
      deal.awaitShare(sellerId, opened.escrowAddress, payment.amount);
    }
  } catch (error) {
    return fail(problemOf(error), 'failed');
  }
  for (const [index, { sellerId, payment }] of escrows.entries()) {
    try {
      await escrowLock.lockEscrow({ ...payment, payeeId: sellerId, feeBps: input.feeBps });
    } catch (error) {
      // Shares locked before are refunded. This share, and every later one the buyer may have paid
      // into its open escrow already, is watched and sent back: no share is left stranded.
      for (const unlocked of escrows.slice(index))
        compensations.unshift({
          step: `return-late-payment:${unlocked.sellerId}`,
          run: () =>
            escrowLock.returnLatePayments({
              dealId: unlocked.payment.dealId,
              payerId: unlocked.payment.buyerId,
              terms: input.terms,
            }),
        });
      return fail(problemOf(error), index > 0 ? 'refunded' : 'failed');
    }
    compensations.unshift({
      step: `refund:${sellerId}`,
      run: async () => {
        // Its own seller's signed refusal (another seller's does not do), or else its withdrawal of
        // the deal: none when that seller's contribution went out, and the share waits for notAfter.
        if (signedRefusals && !refusals.has(sellerId)) {
          const withdrawn = await perimeterOf(sellerId)
            .checks.withdrawDeal({ dealId: input.dealId, terms: input.terms })
            .catch(() => ({ refusal: undefined }));
          if (withdrawn.refusal) refusals.set(sellerId, withdrawn.refusal);
        }
        const refusal = refusals.get(sellerId);
        return escrowPayout.refundEscrow({ ...payment, ...(refusal ? { refusal } : {}) });
      },
    });
  }
  deal.advance('escrow_locked', Date.now());

  deal.advance('query_running', Date.now());
  // Patch `expiry-refund-timer` (issue 20): once the buyer's notAfter (+ the clock margin) passes with
  // contributions missing, each contributor's perimeter is asked to confirm the expiry, and each share
  // goes back on its own seller's signed refusal. Runs from before wait as they did.
  const expiresAt = patched('expiry-refund-timer') ? expiryCheckAtMs(input.terms) : undefined;
  try {
    const encrypt = (share: SellerShare) =>
      perimeterOf(share.sellerId, expiresAt !== undefined).query.encryptContribution({
        ...request(share),
        heKeyRef: input.heKeyRef,
      });
    // Every seller's answer is awaited, so each one that refused hands its signed refusal to its own
    // share's refund. Runs from before the patch fail at the first.
    const answer = await beforeExpiry(
      () =>
        signedRefusals
          ? contributionsOrRefusals(contributors, encrypt, refusals)
          : Promise.all(contributors.map(encrypt)),
      expiresAt,
    );
    if (!answer.answered) throw await expiredShares(deal, contributors, input, refusals);
    const parts = answer.value;
    const sum = await coordinator.sumCiphertexts({
      dealId: input.dealId,
      heKeyRef: input.heKeyRef,
      contributionRefs: parts.map((part) => part.contributionRef),
    });
    const releases = parts.flatMap((part) => (part.release ? [part.release] : []));
    deal.deliver({ ...sum, releases }, Date.now());
  } catch (error) {
    return fail(problemOf(error), 'refunded');
  }

  // The window the buyer signed, from when settlement recorded each share's delivery (see the deal).
  let acceptanceMs = input.acceptanceTimeoutMs;
  if (signedWindow) {
    await recordShareDeliveries(escrows, deal.snapshot().result?.releases ?? [], input);
    const signedMs = signedAcceptanceWindowMs(input.terms);
    if (signedMs !== undefined) acceptanceMs = signedMs + ACCEPTANCE_CLOCK_MARGIN_MS;
  }
  const confirmedByBuyer = await condition(() => deal.stage === 'confirmed', acceptanceMs);
  if (!confirmedByBuyer) deal.confirm('acceptance_timer', Date.now());
  const releaseOf = (sellerId: string) => {
    const release = deal.snapshot().result?.releases?.find((r) => r.body.sellerId === sellerId);
    return release ? { release } : {};
  };
  // Each seller's share released in its own guard: one that fails does not hold back the others.
  await settle(
    escrows.map(({ sellerId, payment }) => ({
      step: `release:${sellerId}`,
      run: () =>
        escrowPayout.releaseEscrow({
          dealId: payment.dealId,
          sellerId,
          buyerId: payment.buyerId,
          amount: payment.amount,
          feeBps: input.feeBps,
          terms: input.terms,
          ...(buyerConfirmation ? { confirmation: buyerConfirmation } : {}),
          // Without one, the seller's signed contribution lets settlement record a delivery it missed.
          ...(buyerConfirmation ? {} : releaseOf(sellerId)),
        }),
    })),
  );
  deal.advance('settled', Date.now());
  return deal.snapshot();
}

/**
 * Every contributor's encrypted part, or the first failure once all have answered; each seller that
 * refused leaves its signed refusal in `refusals`.
 */
async function contributionsOrRefusals<T>(
  contributors: SellerShare[],
  encrypt: (share: SellerShare) => Promise<T>,
  refusals: Map<string, RefusalStatement>,
): Promise<T[]> {
  const settled = await Promise.allSettled(contributors.map(encrypt));
  settled.forEach((outcome, index) => {
    const refusal = outcome.status === 'rejected' ? refusalCarriedBy(outcome.reason) : undefined;
    if (refusal) refusals.set(contributors[index]!.sellerId, refusal);
  });
  // The first failure, as Promise.all would have rejected with it (an activity's failure is an Error).
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason as Error;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

/**
 * The buyer's notAfter passed before every contribution came: each contributor's perimeter is asked
 * (until it answers) to confirm the expiry, and each signed refusal goes to its own share's refund. A
 * seller that says it released its contribution signs none: its share waits like any share whose
 * contribution went out. Returns the deal's failure, carrying the first refusal.
 */
async function expiredShares(
  deal: MultiSellerDealState,
  contributors: SellerShare[],
  input: MultiSellerDealInput,
  refusals: Map<string, RefusalStatement>,
): Promise<ApplicationFailure> {
  const notAfter = expiryCheckAtMs(input.terms)! - EXPIRY_CLOCK_MARGIN_MS;
  deal.awaitExpiry(notAfter, contributors.length, Date.now());
  const call = { dealId: input.dealId, terms: input.terms };
  const answers = await Promise.all(
    contributors.map((share) => confirmedExpiry(share.sellerId, call, deal.expiry)),
  );
  answers.forEach((answer, index) => {
    if ('refusal' in answer) refusals.set(contributors[index]!.sellerId, answer.refusal);
  });
  const [first] = refusals.values();
  return first
    ? expiredUnanswered(first, notAfter)
    : ApplicationFailure.create({
        type: 'TermsExpired',
        message: `no sum came before the buyer's notAfter (${new Date(notAfter).toISOString()})`,
        nonRetryable: true,
      });
}

/**
 * Shows settlement each share's delivery with its seller's signed contribution statement; settlement
 * keeps the first time and pays an unconfirmed share no sooner than the signed window after it. A
 * share whose delivery is not recorded is still paid on the buyer's signed confirmation.
 */
async function recordShareDeliveries(
  escrows: { sellerId: string; payment: { dealId: string } }[],
  releases: { body: { sellerId: string } }[],
  input: MultiSellerDealInput,
): Promise<void> {
  const settlement = settlementActivities(settlementTx);
  for (const { sellerId, payment } of escrows) {
    const release = releases.find((statement) => statement.body.sellerId === sellerId);
    await settlement
      .recordDelivery({ dealId: payment.dealId, terms: input.terms, release })
      .catch(() => undefined);
  }
}
