import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  patched,
  setHandler,
} from '@temporalio/workflow';
import type { PerimeterActivities } from '../../activities/perimeter/activities';
import { periodEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { subscriptionPeriodId, subscriptionRunId } from '../../lib/ids/run-ids';
import {
  coordinatorNotify,
  coordinatorRecord,
  perimeterCheck,
  perimeterQuery,
  settlementLock,
  settlementPayout,
  settlementTx,
} from '../activity-options';
import { handleOperatorRetry, settleGuarded, type GuardedStep } from '../guarded-settlement';
import { problemOf, refusalCarriedBy } from '../activity-problem';
import type { RefusalStatement } from '../../lib/refusal-statement';
import { notifyBestEffort } from '../notify';
import {
  SubscriptionState,
  type DeliveredQuery,
  type SubscriptionInput,
  type SubscriptionStatus,
} from './state';
import { coordinatorActivities, perimeterActivities, settlementActivities } from '../activity-proxies';
import type { ExpectedDecision, SignedDecision } from '../../lib/decision-statement';
import { asRefusal, assertDecides, scopeOf, termsHashOf, verifiedSigner } from '../verified-decision';
import { subscriptionInput } from './shapes';
import { recoverPeriodRuns } from './period-recovery';
import { checkWorkflowInput } from '../workflow-input';

/** The subscriber's signed cancellation on this run (content `{}`); the signer is who cancelled. */
export interface CancelSubscriptionRequest {
  signed: SignedDecision<Record<string, never>>;
}
/**
 * The subscriber's signed report that it topped up, on this run and for the current period (content
 * `{ period }`): a report from another period's grace does not count again.
 */
export interface PaymentReadyRequest {
  signed: SignedDecision<{ period: number }>;
}

/**
 * The subscriber's signed dispute of a delivered period whose payout is held (content: the period,
 * its escrow and a reason), on this run.
 */
export interface DisputePeriodRequest {
  signed: SignedDecision<{ period: number; escrowId: string; reason: string }>;
}
/**
 * The seller's signed `refund_consent` of a disputed period's escrow (content `{ escrowId }`, the form
 * settlement refunds a delivered period on), on this run; `period` says which dispute it concedes.
 */
export interface ConcedePeriodRequest {
  period: number;
  signed: SignedDecision<{ escrowId: string }>;
}

export const subscriptionStatusQuery = defineQuery<SubscriptionStatus>('subscriptionStatus');
/** Ends the subscription at the current period's end; the caller gets the new status back. */
export const cancelSubscriptionUpdate = defineUpdate<SubscriptionStatus, [CancelSubscriptionRequest]>(
  'cancelSubscription',
);
/**
 * The old, unsigned way to report a top-up: counted only by runs from before the signed report
 * (patch `signed-payment-ready`); a new run ignores it, as anyone with Temporal could send it.
 */
export const paymentReadySignal = defineSignal('paymentReady');
/** The subscriber's signed report, as the API sends it: the workflow refuses another party or stage. */
export const paymentReadyUpdate = defineUpdate<{ accepted: true }, [PaymentReadyRequest]>(
  'reportPaymentReady',
);
/** The subscriber disputes the held period: its payout waits for the seller's concession or the deadline. */
export const disputePeriodUpdate = defineUpdate<SubscriptionStatus, [DisputePeriodRequest]>(
  'disputeSubscriptionPeriod',
);
/** The seller concedes a disputed period: it is refunded on the seller's signed consent. */
export const concedePeriodUpdate = defineUpdate<SubscriptionStatus, [ConcedePeriodRequest]>(
  'concedeSubscriptionPeriod',
);

/**
 * A subscription to a seller's signed templates. Each period: charge the buyer (a failed charge
 * opens a grace window, then suspends), rotate the buyer's access token, run the scheduled queries
 * in the seller's perimeter and deliver them, pay the seller. `cancel` ends it at the period's end;
 * the end of the last period the subscriber signed for (`periods`) completes it.
 */
export async function subscription(input: SubscriptionInput): Promise<SubscriptionStatus> {
  checkWorkflowInput(subscriptionInput, input, 'subscription');
  const sub = new SubscriptionState(input, Date.now());
  setHandler(subscriptionStatusQuery, () => sub.snapshot());
  const cancellation = (): ExpectedDecision => ({
    scope: sub.scope,
    action: 'subscription_cancellation',
    principal: input.buyerId,
    content: {},
  });
  setHandler(
    cancelSubscriptionUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, cancellation());
      asRefusal(() => sub.requestCancel(by.principal));
      return sub.snapshot();
    },
    {
      validator: (request?: CancelSubscriptionRequest) => {
        const signed = request?.signed;
        if (signed?.statement) sub.assertCancellable(String(signed.statement.principal));
        assertDecides(signed, cancellation());
      },
    },
  );
  setHandler(paymentReadySignal, () => {
    if (!patched('signed-payment-ready')) sub.requestPaymentRetry();
  });
  const paymentReport = (): ExpectedDecision => ({
    scope: sub.scope,
    action: 'subscription_payment_ready',
    principal: input.buyerId,
    content: { period: sub.period },
  });
  setHandler(
    paymentReadyUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, paymentReport());
      asRefusal(() => sub.assertMayReportPayment(by.principal));
      // Bounded: a retry already pending, or the last allowed, is not queued again.
      sub.requestPaymentRetry();
      return { accepted: true as const };
    },
    {
      // `request` may be absent or of the old shape ({ by }): refused as unsigned.
      validator: (request?: PaymentReadyRequest) => {
        const signed = request?.signed;
        if (signed?.statement) sub.assertMayReportPayment(String(signed.statement.principal));
        assertDecides(signed, paymentReport());
      },
    },
  );

  // Each period's escrow is derived from the subscriber's terms; disputes and consents name it.
  const escrowOf = (period: number) =>
    periodEscrowId(input.subscriptionId, period, termsNonceOf(input.terms));
  const consents = handlePeriodDisputes(sub, input, escrowOf);

  handleOperatorRetry(sub.attention);
  // The cancel is bound to this run and the subscriber's terms. Patch `signed-cancel` (issue 20):
  // runs from before replay without it and take no cancel until their next continueAsNew.
  if (patched('signed-cancel'))
    sub.setScope(scopeOf({ id: input.subscriptionId, termsHash: await termsHashOf(input.terms) }));
  const escrowOpen = settlementActivities(settlementTx);
  const escrowLock = settlementActivities(settlementLock);
  // A payout that keeps failing waits for the operator's retry, listed in the status.
  const settle = (step: GuardedStep) => settleGuarded([step], sub.attention, () => undefined);
  const payout = settlementActivities(settlementPayout);
  const perimeter = perimeterActivities<PerimeterActivities>(input.sellerId, perimeterQuery);
  const checks = perimeterActivities<PerimeterActivities>(input.sellerId, perimeterCheck);
  const records = coordinatorActivities(coordinatorRecord);
  const coordinator = coordinatorActivities(coordinatorNotify);
  const { subscriptionId, buyerId, sellerId, pricePerPeriod: amount, feeBps, terms } = input;
  // Settlement checks each period's charge against the subscriber's signed terms (price, count, nonce).

  /** Sleeps until `at` or until `wake()` holds, marking tokens expired as their times pass. */
  async function waitUntil(at: number, wake: () => boolean = () => false): Promise<void> {
    for (;;) {
      sub.expireTokens(Date.now());
      if (Date.now() >= at || wake()) return;
      const seen = sub.changes;
      const next = Math.min(at, sub.nextTokenExpiry() ?? at);
      await condition(() => sub.changes !== seen || wake(), Math.max(1, next - Date.now()));
    }
  }

  /** The period's charge is locked now and released to the seller once the period is delivered. */
  async function chargePeriod(chargeId: string): Promise<'paid' | 'unpaid' | 'cancelled'> {
    // The period's own escrow: the subscriber pays it from its own wallet (see README, Settlement).
    const charge = { dealId: escrowOf(sub.period), buyerId, amount, payeeId: sellerId, feeBps, terms };
    sub.awaitPayment((await escrowOpen.openEscrow(charge)).escrowAddress);
    for (;;) {
      try {
        await escrowLock.lockEscrow({ ...charge, terms: input.terms });
        sub.charged();
        return 'paid';
      } catch (error) {
        const graceUntil = sub.enterGrace(problemOf(error));
        if (Date.now() >= graceUntil) return 'unpaid';
        await notifyBestEffort(coordinator, buyerId, chargeId, 'subscription_payment_failed');
        const retries = sub.paymentRetries;
        // Woken by the buyer's paymentReady or a cancel; otherwise one last try at the grace's end.
        await waitUntil(graceUntil, () => sub.paymentRetries !== retries || sub.cancelRequested);
        if (sub.cancelRequested) return 'cancelled';
        sub.paymentRetryStarted();
      }
    }
  }

  // The perimeter's signed refusal of each run it refused, by run id: a period's refund carries them.
  const refusals = new Map<string, RefusalStatement>();

  /** One run of a scheduled query in the seller's perimeter; its result is sealed to the buyer's key there. */
  async function runQuery(queryIndex: number, runId: string): Promise<DeliveredQuery> {
    const query = input.queries[queryIndex]!;
    const result = await perimeter.runApprovedQuery({
      dealId: runId,
      buyerId,
      buyerKeyRef: input.buyerKeyRef,
      terms,
      ...query,
    });
    return { queryIndex, runId, ...result };
  }

  /** Each query runs in the seller's perimeter; its result is sealed to the buyer's key there. */
  async function runScheduledQueries(period: number): Promise<DeliveredQuery[]> {
    const results: DeliveredQuery[] = [];
    for (const [queryIndex, query] of input.queries.entries()) {
      const runId = subscriptionRunId(subscriptionId, period, queryIndex);
      try {
        // Every answer is charged to the buyer's privacy budget first, like a one-time deal's.
        const { terms } = input;
        await checks.reservePrivacyBudget({
          dealId: runId,
          buyerId,
          compliance: input.compliance,
          terms,
          ...query,
        });
        results.push(await runQuery(queryIndex, runId));
      } catch (error) {
        const refusal = refusalCarriedBy(error);
        if (refusal) refusals.set(runId, refusal);
        await checks.releasePrivacyBudget({ dealId: runId });
        results.push({ queryIndex, runId, problem: problemOf(error) });
      }
    }
    return results;
  }

  /**
   * Settlement refunds a period only on the perimeter's signed refusal of every run of it: a run it
   * refused without one (refused before it ran, timed out) is withdrawn, which the perimeter signs
   * unless it released that run's answer. Patch `period-refusal-statement` (issue 20): runs from
   * before refund without them (and settlement now refuses that refund: UPGRADING.md).
   */
  async function refusalsOfPeriod(results: readonly DeliveredQuery[]): Promise<RefusalStatement[]> {
    const signed: RefusalStatement[] = [];
    for (const { runId } of results) {
      const refusal =
        refusals.get(runId) ??
        (await checks.withdrawDeal({ dealId: runId, terms }).catch(() => ({ refusal: undefined }))).refusal;
      if (refusal) signed.push(refusal);
    }
    return signed;
  }

  /**
   * Pays the seller for a period with an answered run; a period none of whose runs came back answered
   * is first settled with the perimeter (./period-recovery.ts): recovered answers are delivered and
   * paid, and only a period the perimeter refused run by run is refunded, on those signed refusals.
   * Each operator retry asks the perimeter again.
   */
  async function settlePeriod(period: number, delivered: DeliveredQuery[]): Promise<void> {
    const answered = (list: readonly DeliveredQuery[]) => list.some((r) => 'resultRef' in r);
    const results = answered(delivered)
      ? delivered
      : await recoverPeriodRuns(delivered, refusals, {
          withdraw: async (runId) => (await checks.withdrawDeal({ dealId: runId, terms })).refusal,
          ask: runQuery,
        });
    if (results !== delivered) sub.redeliver(period, results);
    const dealId = escrowOf(period);
    if (answered(results)) await payout.releaseEscrow({ dealId, sellerId, buyerId, amount, feeBps, terms });
    else {
      const refusal = results.flatMap(({ runId }) => refusals.get(runId) ?? []);
      await payout.refundEscrow({ dealId, buyerId, amount, terms, refusal });
    }
  }

  /**
   * Holds a delivered period's payout until the period's end; a dispute opened by then holds it until
   * the seller concedes or the dispute's deadline passes (then the payout goes ahead).
   */
  async function holdForDisputes(period: number): Promise<void> {
    sub.holdPayout(escrowOf(period));
    await waitUntil(sub.periodBoundary);
    const open = sub.disputeOf(period);
    if (open?.stage === 'open') await waitUntil(open.until, () => sub.disputeOf(period)?.stage !== 'open');
    sub.lapse(period, Date.now());
    sub.endHold();
  }

  for (let periods = 0; periods < input.periodsPerRun; periods++) {
    await waitUntil(sub.periodBoundary);
    if (sub.cancelRequested) break;
    // Live patch `subscription-ends-at-signed-periods` (deployed 2026-12-07): the last signed
    // period's end completes it, with no further charge; a run that already tried the period after
    // it (which settlement refused) replays the old path.
    if (sub.signedPeriodsDone && patched('subscription-ends-at-signed-periods')) {
      sub.complete(Date.now());
      return sub.snapshot();
    }
    sub.startPeriod();
    const chargeId = subscriptionPeriodId(subscriptionId, sub.period);
    const charge = await chargePeriod(chargeId);
    if (charge === 'cancelled') {
      // Nothing was paid for this period, so it ends now rather than at the period's end.
      sub.cancelled(Date.now());
      return sub.snapshot();
    }
    if (charge === 'unpaid') {
      sub.suspend(Date.now());
      // A charge paid after the grace ran out goes back to the subscriber.
      await settle({
        step: 'return-late-payment',
        run: () =>
          escrowLock.returnLatePayments({
            dealId: escrowOf(sub.period),
            payerId: buyerId,
            terms,
          }),
      });
      await notifyBestEffort(coordinator, buyerId, chargeId, 'subscription_suspended');
      return sub.snapshot();
    }

    sub.rotate(
      await records.issueAccessToken({ subscriptionId, period: sub.period, buyerKeyRef: input.buyerKeyRef }),
      Date.now(),
    );
    const escrowOfPeriod = escrowOf(sub.period);
    const results = await runScheduledQueries(sub.period);
    sub.deliver(results);
    await notifyBestEffort(coordinator, buyerId, chargeId, 'subscription_delivered');
    // Patch `period-dispute-hold` (issue 20): the payout waits for the period's end, so the subscriber
    // can dispute it; a period the seller conceded is refunded on its signed consent. Runs from before
    // pay at once.
    if (patched('period-dispute-hold')) {
      const period = sub.period;
      // A period the perimeter refused run by run (each refusal signed) delivered nothing to dispute
      // and has nothing to recover: it is refunded at once. Any other (an answer, or a run whose fate
      // the workflow does not know, which may yet be recovered as an answer) is held.
      const refusedOutright = results.every((r) => !('resultRef' in r) && refusals.has(r.runId));
      if (!refusedOutright) await holdForDisputes(period);
      const consent = consents.get(period);
      if (consent)
        await settle({
          step: `refund:${period}`,
          run: () => payout.refundEscrow({ dealId: escrowOf(period), buyerId, amount, terms, consent }),
        });
      else await settle({ step: `settle:${period}`, run: () => settlePeriod(period, results) });
    }
    // Patch `period-recovers-released-runs` (issue 20): a period settles on what the perimeter
    // recorded, so one whose answers were lost is neither stranded nor refunded; runs from before
    // replay the old steps.
    else if (patched('period-recovers-released-runs'))
      await settle({ step: `settle:${sub.period}`, run: () => settlePeriod(sub.period, results) });
    // A period whose every query failed is not the seller's to keep.
    else if (results.some((r) => 'resultRef' in r))
      await settle({
        step: `release:${sub.period}`,
        run: () => payout.releaseEscrow({ dealId: escrowOfPeriod, sellerId, buyerId, amount, feeBps, terms }),
      });
    else {
      const refusal = patched('period-refusal-statement') ? await refusalsOfPeriod(results) : undefined;
      await settle({
        step: `refund:${sub.period}`,
        run: () =>
          payout.refundEscrow({
            dealId: escrowOfPeriod,
            buyerId,
            amount,
            terms,
            ...(refusal ? { refusal } : {}),
          }),
      });
    }
    refusals.clear();
  }

  if (sub.cancelRequested) {
    await waitUntil(sub.periodBoundary);
    sub.cancelled(Date.now());
    return sub.snapshot();
  }
  await condition(allHandlersFinished);
  return continueAsNew<typeof subscription>({ ...input, carried: sub.carry() });
}

/**
 * The subscriber's disputes and the seller's concessions of held periods, each checked by the update's
 * validator (its statement) and then by the coordinator (the signer's registered key). Returns the
 * seller's signed consents by period, kept out of the status: settlement refunds on them.
 */
function handlePeriodDisputes(
  sub: SubscriptionState,
  input: SubscriptionInput,
  escrowOf: (period: number) => string,
): Map<number, SignedDecision<{ escrowId: string }>> {
  const consents = new Map<number, SignedDecision<{ escrowId: string }>>();
  const opening = (signed: DisputePeriodRequest['signed'] | undefined): ExpectedDecision => {
    const period = Number(signed?.statement?.content?.period);
    return {
      scope: sub.scope,
      action: 'dispute_opening',
      principal: input.buyerId,
      content: { period, escrowId: escrowOf(period), reason: String(signed?.statement?.content?.reason) },
    };
  };
  setHandler(
    disputePeriodUpdate,
    async ({ signed }) => {
      const by = await verifiedSigner(signed, opening(signed), ['buyer']);
      const { period, reason } = signed.statement.content;
      asRefusal(() => sub.openDispute(by.principal, period, reason, Date.now()));
      return sub.snapshot();
    },
    {
      validator: (request?: DisputePeriodRequest) => {
        const signed = request?.signed;
        assertDecides(signed, opening(signed));
        const { period, reason } = signed!.statement.content;
        sub.assertCanDispute(String(signed!.statement.principal), Number(period), String(reason));
      },
    },
  );
  const consentOf = (period: number): ExpectedDecision => ({
    scope: sub.scope,
    action: 'refund_consent',
    principal: input.sellerId,
    content: { escrowId: escrowOf(period) },
  });
  setHandler(
    concedePeriodUpdate,
    async ({ period, signed }) => {
      const seller = await verifiedSigner(signed, consentOf(period), ['seller']);
      asRefusal(() => sub.concede(seller.principal, period, Date.now()));
      consents.set(period, signed);
      return sub.snapshot();
    },
    {
      validator: (request?: ConcedePeriodRequest) => {
        const period = Number(request?.period);
        assertDecides(request?.signed, consentOf(period));
        sub.assertCanConcede(String(request!.signed.statement.principal), period);
      },
    },
  );
  return consents;
}
