import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessTokenContext, ACCESS_TOKEN_HEADER } from '../../lib/access-token';
import { open } from '../../lib/sealed-box';
import { openResult } from '../../lib/sealed-result';
import { TuskApiError } from '../../lib/tusk-client';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import type { PartyIdentity } from '../../scripts/lib/local-deployment';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import {
  historyText,
  LIFECYCLE_PARTIES,
  party,
  replay,
  terminateRunning,
  updateRefusal,
  waitFor,
  waitForRefusal,
} from './lifecycle-harness';
import { cancelSubscription, reportPaymentReady } from '../../lib/signed-actions';
import { signDecision } from '../../lib/signed-decision';
import { cancelSubscriptionUpdate } from '../../workflows/subscription/workflow';

const PERIOD_S = 5;
const GRACE_MS = 3000;
const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

describe('subscriptions: renewal, rotation, grace, suspension, cancel', () => {
  let test: TestDeployment;
  let buyer: PartyIdentity;
  let thinBuyer: PartyIdentity;
  let endingBuyer: PartyIdentity;
  const ids = {
    renewing: 'sub-renewing',
    unpaid: 'sub-unpaid',
    cancelled: 'sub-cancelled',
    ending: 'sub-ending',
  };
  const ENDING_FUNDS = 10_000n;
  /** The subscriber signs for this many periods only. */
  const SIGNED_PERIODS = 2;
  let firstRunId: string;
  let firstTokenHash: string;

  const subscribe = async (as: PartyIdentity, subscriptionId: string, signed: { periods?: number } = {}) => {
    const { templates } = await as.client.get<{ templates: { id: string; seller: string; hash: string }[] }>(
      '/templates',
    );
    return as.client.request<SubscriptionStatus>(
      'POST',
      '/subscriptions',
      as.client.signed('subscription', {
        subscriptionId,
        queries: [
          {
            templateId: templates[0]!.id,
            sellerId: templates[0]!.seller,
            templateHash: templates[0]!.hash,
            parameters: PARAMETERS,
          },
        ],
        pricePerPeriod: '1000',
        periodSeconds: PERIOD_S,
        buyerPublicKey: as.resultPublicKey,
        compliance: RESEARCH_IN_US,
        ...signed,
      }),
    );
  };
  const status = (as: PartyIdentity, id: string) => as.client.get<SubscriptionStatus>(`/subscriptions/${id}`);
  const currentToken = async (as: PartyIdentity, id: string) => {
    const sealed = await as.client.get<{ period: number; sealedToken: string }>(`/subscriptions/${id}/token`);
    const token = await open(
      Buffer.from(sealed.sealedToken, 'base64'),
      as.resultKeyPem,
      accessTokenContext(id, sealed.period),
    );
    return { period: sealed.period, token: token.toString() };
  };
  const delivery = (as: PartyIdentity, id: string, period: number, token: string) =>
    as.client.request<{ results: { runId: string; commitment: string; ciphertext: string }[] }>(
      'GET',
      `/subscriptions/${id}/deliveries/${period}`,
      undefined,
      { [ACCESS_TOKEN_HEADER]: token },
    );

  beforeAll(async () => {
    test = await startTestDeployment('subs', (seller) => seller.publishDemoTemplate().then(() => undefined), {
      parties: [...LIFECYCLE_PARTIES, { id: 'ending-buyer', role: 'buyer', funds: ENDING_FUNDS }],
      buyerFunds: 100_000n,
      env: {
        TUSK_MIN_PERIOD_MS: '1000',
        TUSK_SUBSCRIPTION_GRACE_MS: String(GRACE_MS),
        TUSK_PERIODS_PER_RUN: '2',
      },
    });
    buyer = { ...test.deployment.buyer };
    thinBuyer = party(test, 'thin-buyer');
    expect((await subscribe(buyer, ids.renewing)).status).toBe(201);
    firstRunId = (await test.temporal.workflow.getHandle(subscriptionWorkflowId(ids.renewing)).describe())
      .runId;
    await subscribe(thinBuyer, ids.unpaid);
    await subscribe(buyer, ids.cancelled);
    endingBuyer = party(test, 'ending-buyer');
    expect((await subscribe(endingBuyer, ids.ending, { periods: SIGNED_PERIODS })).status).toBe(201);
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, Object.values(ids).map(subscriptionWorkflowId));
    await test?.close();
  });

  it('delivers each period sealed to the buyer, readable with the current access token', async () => {
    const delivered = await waitFor(
      () => status(buyer, ids.renewing),
      (s) => s.deliveries.some((d) => d.period === 1),
    );
    firstTokenHash = delivered.tokens.find((t) => t.period === 1)!.tokenHash;
    const { token } = await currentToken(buyer, ids.renewing);
    const { body } = await delivery(buyer, ids.renewing, 1, token);
    const [result] = body.results;
    const table = await openResult(
      Buffer.from(result!.ciphertext, 'base64'),
      buyer.resultKeyPem,
      result!.runId,
      result!.commitment,
    );
    expect(table.columns).toEqual(['zip3', 'diagnosis_code', 'patients', 'avg_cost', 'total_cost']);
    await expect(delivery(buyer, ids.renewing, 1, 'not-a-token')).rejects.toMatchObject({
      status: 403,
      code: 'access_token_invalid',
    });
    // Payment-ready outside a grace window, or from another buyer: the workflow's typed refusals.
    await expect(reportPaymentReady(buyer.client, ids.renewing)).rejects.toMatchObject({
      status: 409,
      code: 'invalid_state',
      reason: `subscription ${ids.renewing} is active, not in grace`,
    });
    // Another buyer, signing with its own key over this run and period: refused by the workflow.
    const { scope, currentPeriod: period } = await status(buyer, ids.renewing);
    const othersReport = thinBuyer.client.signDecision(scope!, 'subscription_payment_ready', { period });
    await expect(
      thinBuyer.client.post(`/subscriptions/${ids.renewing}/payment-ready`, { period, ...othersReport }),
    ).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
      reason: 'only the subscriber reports a payment',
    });
    // Unsigned, as before: a 400 naming the missing signature.
    await expect(buyer.client.post(`/subscriptions/${ids.renewing}/payment-ready`)).rejects.toMatchObject({
      status: 400,
    });
  });

  it("rotates the token each renewal; the old one is refused once its period's end plus grace has passed", async () => {
    const before = await currentToken(buyer, ids.renewing);
    const next = before.period + 1;
    const renewed = await waitFor(
      () => status(buyer, ids.renewing),
      (s) => s.tokens.some((t) => t.period === next) && s.deliveries.some((d) => d.period === next),
    );
    const after = await currentToken(buyer, ids.renewing);
    expect(after.period).toBeGreaterThanOrEqual(next);
    expect(after.token).not.toBe(before.token);
    const oldToken = renewed.tokens.find((t) => t.period === before.period)!;
    const newToken = renewed.tokens.find((t) => t.period === next)!;
    // The old period ends where the next starts: the old token works for the grace after that, then stops.
    expect(newToken.expiresAt - oldToken.expiresAt).toBe(PERIOD_S * 1000);

    const refusal = await waitForRefusal(() => delivery(buyer, ids.renewing, next, before.token));
    expect(Date.now()).toBeGreaterThanOrEqual(oldToken.expiresAt);
    expect(refusal).toMatchObject({ status: 403, code: 'access_expired' });
    const latest = await currentToken(buyer, ids.renewing);
    expect((await delivery(buyer, ids.renewing, next, latest.token)).status).toBe(200);
    // Only hashes and sealed references of the tokens are recorded.
    const workflowId = subscriptionWorkflowId(ids.renewing);
    const histories = `${await historyText(test, workflowId, firstRunId)}${await historyText(test, workflowId)}`;
    expect(histories).toContain(firstTokenHash);
    for (const { token } of [before, after, latest]) expect(histories).not.toContain(token);
  });

  it('continues as new every two periods, keeping its state, and each run replays', async () => {
    const third = await waitFor(
      () => status(buyer, ids.renewing),
      (s) => s.deliveries.some((d) => d.period === 3),
    );
    expect(third.run).toBeGreaterThanOrEqual(2);
    expect(third.stage).toBe('active');
    expect(third.periodsCharged).toBeGreaterThanOrEqual(3);
    // Carried across the runs: the deliveries of the first run are still there.
    expect(third.deliveries.map((d) => d.period)).toEqual(expect.arrayContaining([2, 3]));
    await replay(test, subscriptionWorkflowId(ids.renewing), firstRunId);
  });

  it('a missed payment opens a grace window, then suspends; its token stops working', async () => {
    const suspended = await waitFor(
      () => status(thinBuyer, ids.unpaid),
      (s) => s.stage === 'suspended',
    );
    expect(suspended).toMatchObject({
      currentPeriod: 2,
      periodsCharged: 1,
      problem: { code: 'InsufficientFunds' },
    });
    expect(suspended.graceUntil).toBe(suspended.periodStartedAt! + GRACE_MS);
    expect(suspended.endedAt).toBeGreaterThanOrEqual(suspended.graceUntil!);
    expect(suspended.tokens.every((t) => t.expired)).toBe(true);
    await expect(currentToken(thinBuyer, ids.unpaid)).rejects.toBeInstanceOf(TuskApiError);
    expect(await test.deployment.ledger.balanceOf('thin-buyer')).toBe(0n);
    await replay(test, subscriptionWorkflowId(ids.unpaid));
  });

  it('cancel ends it at the period end: no further charge, and the token stops then', async () => {
    await waitFor(
      () => status(buyer, ids.cancelled),
      // Any delivered period: this subscription started with the suite and keeps only its last few.
      (s) => s.deliveries.length > 0,
    );
    const { token } = await currentToken(buyer, ids.cancelled);
    // Another buyer's cancel, signed with its own key over this run: the workflow's typed refusal.
    // (The run may continue as new between reading its scope and sending: then it is signed again.)
    const othersCancel = async () => {
      for (let tries = 1; ; tries++) {
        const { scope } = await status(buyer, ids.cancelled);
        const signed = thinBuyer.client.signDecision(scope!, 'subscription_cancellation', {});
        try {
          return await thinBuyer.client.post(`/subscriptions/${ids.cancelled}/cancel`, signed);
        } catch (error) {
          const runMoved = error instanceof TuskApiError && error.code === 'decision_signature_invalid';
          if (!runMoved || tries >= 3) throw error;
        }
      }
    };
    await expect(othersCancel()).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
      reason: 'only the subscriber cancels',
    });
    expect((await status(buyer, ids.cancelled)).stage).toBe('active');

    // The operator, straight on Temporal: the old unsigned shape, another key in the subscriber's
    // name, the subscriber's genuine cancel of another subscription's run. None ends it.
    const handle = test.temporal.workflow.getHandle(subscriptionWorkflowId(ids.cancelled));
    const send = (request: unknown) =>
      updateRefusal(handle.executeUpdate(cancelSubscriptionUpdate, { args: [request as never] }));
    expect(await send({ by: buyer.id })).toMatch(/not signed/);
    const { scope } = await status(buyer, ids.cancelled);
    const inBuyersName = signDecision(thinBuyer.signingKeyPem, {
      ...scope!,
      action: 'subscription_cancellation',
      principal: buyer.id,
      content: {},
      notAfter: Date.now() + 600_000,
    });
    expect(await send({ signed: inBuyersName })).toMatch(new RegExp(`the signature is not ${buyer.id}'s`));
    const { scope: otherScope } = await status(buyer, ids.renewing);
    const copied = signDecision(buyer.signingKeyPem, {
      ...otherScope!,
      action: 'subscription_cancellation',
      principal: buyer.id,
      content: {},
      notAfter: Date.now() + 600_000,
    });
    expect(await send({ signed: copied })).toMatch(/signed for run/);
    const untouched = await status(buyer, ids.cancelled);
    expect(untouched.stage).toBe('active');
    expect(untouched.cancelledBy).toBeUndefined();

    const cancelling = await cancelSubscription<SubscriptionStatus>(buyer.client, ids.cancelled);
    expect(cancelling).toMatchObject({ stage: 'cancelling', cancelledBy: buyer.id });
    expect(cancelling.nextRenewalAt).toBeUndefined();
    await expect(cancelSubscription(buyer.client, ids.cancelled)).rejects.toMatchObject({
      status: 409,
      code: 'invalid_state',
    });
    const cancelled = await waitFor(
      () => status(buyer, ids.cancelled),
      (s) => s.stage === 'cancelled',
    );
    expect(cancelled.periodsCharged).toBe(cancelled.currentPeriod);
    expect(cancelled.endedAt).toBeGreaterThanOrEqual(cancelled.periodEndsAt!);
    await expect(delivery(buyer, ids.cancelled, cancelled.currentPeriod, token)).rejects.toMatchObject({
      code: 'access_expired',
    });
    await replay(test, subscriptionWorkflowId(ids.cancelled));
  });

  it('completes at the end of its last signed period: no further charge, no grace, no suspension', async () => {
    const completed = await waitFor(
      () => status(endingBuyer, ids.ending),
      (s) => !['active', 'grace'].includes(s.stage),
    );
    expect(completed).toMatchObject({
      stage: 'completed',
      currentPeriod: SIGNED_PERIODS,
      periodsCharged: SIGNED_PERIODS,
    });
    expect(completed.graceUntil).toBeUndefined();
    expect(completed.problem).toBeUndefined();
    expect(completed.nextRenewalAt).toBeUndefined();
    expect(completed.endedAt).toBeGreaterThanOrEqual(completed.periodEndsAt!);
    expect(completed.tokens.every((t) => t.expired)).toBe(true);
    expect(completed.deliveries.map((d) => d.period)).toEqual([1, 2]);

    // A period later still: exactly the signed periods were charged, and no later one was opened.
    await new Promise((resolve) => setTimeout(resolve, PERIOD_S * 1000));
    const periodsEscrowed = [...(await test.deployment.ledger.state()).escrows.keys()]
      .map(parseEscrowId)
      .filter((ref) => ref?.kind === 'period' && ref.subscriptionId === ids.ending)
      .map((ref) => (ref?.kind === 'period' ? ref.period : 0))
      .sort();
    expect(periodsEscrowed).toEqual([1, 2]);
    expect(await test.deployment.ledger.balanceOf(endingBuyer.id)).toBe(
      ENDING_FUNDS - BigInt(SIGNED_PERIODS) * 1000n,
    );
    expect(await status(endingBuyer, ids.ending)).toEqual(completed);
    const workflow = await test.temporal.workflow.getHandle(subscriptionWorkflowId(ids.ending)).describe();
    expect(workflow.status.name).toBe('COMPLETED');
    await expect(cancelSubscription(endingBuyer.client, ids.ending)).rejects.toMatchObject({
      status: 409,
    });
    await replay(test, subscriptionWorkflowId(ids.ending));
  });
});
