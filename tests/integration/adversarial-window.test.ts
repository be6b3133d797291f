import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { createHeKeys, readHeSecret } from '../../cli/buyer/he-keys';
import { dealEscrowId, shareEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { historyDataConverter } from '../../lib/codec/history-codec';
import type { HeSecretKeyFile } from '../../lib/he/buyer-keys';
import { confirmDeal, reportPaymentReady } from '../../lib/signed-actions';
import type { SignedTerms } from '../../lib/signed-terms';
import { signDecision } from '../../lib/signed-decision';
import { connectWorker } from '../../lib/temporal';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import { dealTermsQuery } from '../../workflows/deal-terms';
import type { MultiSellerDealStatus } from '../../workflows/multi-seller/shapes';
import { confirmMultiSellerDealUpdate } from '../../workflows/multi-seller/workflow';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import { paymentReadyUpdate } from '../../workflows/subscription/workflow';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { operatorEarlyPayout, type EarlyPayoutInput } from '../fixtures/operator-payout-workflow';
import {
  dealTermsBody,
  RESEARCH_IN_US,
  startDealWorkflow,
  startTestDeployment,
  TestSeller,
  type TestDeployment,
} from './harness';
import {
  LIFECYCLE_PARTIES,
  party,
  signedBy,
  terminateRunning,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';

const PARAMETERS = { min_age: 25, max_age: 65, sex: 'F' };
const FEE_BPS = 250;
/** The window the buyer signs in the first attack: a few seconds, so the test stays quick. */
const SIGNED_WINDOW_MS = 10_000;
const OPERATOR_QUEUE = 'operator-window-attacks';

/**
 * The operator runs Temporal and every workflow worker: it can start a deal with any timeout, run a
 * workflow of its own that asks settlement to pay, and send any update. The buyer's signed acceptance
 * window, its signed confirmation and the subscriber's signed payment report are what count.
 */
describe('the acceptance window, the multi-seller confirmation and payment-ready, attacked on Temporal', () => {
  let test: TestDeployment;
  let sellers: TestSeller[] = [];
  const templates = new Map<string, QueryTemplate>();
  let keyHome: string;
  let secret: HeSecretKeyFile;
  let operatorWorker: Worker;
  let operatorRun: Promise<void>;
  let closeConnection: () => Promise<void>;
  /** The first attack's deal: its run's scope serves as a confirmation copied from elsewhere. */
  let oneTimeDeal: { dealId: string; scope: NonNullable<DealStatus['scope']> };

  const buyer = () => test.deployment.buyer;
  const balanceOf = (id: string) => test.deployment.ledger.balanceOf(id);
  const hashOf = (seller: TestSeller) => templateHash(templates.get(seller.id)!);
  const templateId = () => templates.get(sellers[0]!.id)!.id;
  /** What settlement answers a workflow of the operator's asking it to pay now. */
  const operatorPayout = (input: EarlyPayoutInput) =>
    test.temporal.workflow.execute(operatorEarlyPayout, {
      taskQueue: OPERATOR_QUEUE,
      workflowId: `operator-payout-${crypto.randomUUID()}`,
      args: [input],
    });

  beforeAll(async () => {
    test = await startTestDeployment(
      'window',
      async (first) => {
        sellers = [first, new TestSeller(`${first.id}-b`, first.policiesRoot)];
        for (const seller of sellers) {
          templates.set(seller.id, await seller.publishDemoTemplate());
          await seller.publishDatasetPolicy();
        }
      },
      () => ({
        parties: LIFECYCLE_PARTIES,
        buyerFunds: 100_000n,
        feeBps: FEE_BPS,
        // What GET /templates suggests and the clients sign unless a test signs another window.
        acceptanceTimeoutMs: 600_000,
        extraSellers: sellers.slice(1).map((seller) => ({
          sellerId: seller.id,
          sellerPublicKey: seller.keys.publicKey,
          rows: 20_000,
        })),
        env: { TUSK_MIN_PERIOD_MS: '1000', TUSK_SUBSCRIPTION_GRACE_MS: '300000' },
      }),
    );
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-window-'));
    await createHeKeys(buyer().client, keyHome, buyer().id);
    secret = await readHeSecret(keyHome, buyer().id);
    const connection = await connectWorker(inject('temporalAddress'));
    closeConnection = () => connection.close();
    operatorWorker = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue: OPERATOR_QUEUE,
      workflowsPath: join(__dirname, '../fixtures/operator-payout-workflow.ts'),
      dataConverter: historyDataConverter(test.codec),
    });
    operatorRun = operatorWorker.run();
  });
  afterAll(async () => {
    operatorWorker?.shutdown();
    await operatorRun?.catch(() => undefined);
    await closeConnection?.();
    if (test) await terminateRunning(test.temporal, [subscriptionWorkflowId('window-grace')]);
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  it('a deal started with a 1 s timeout pays its seller only once the signed window has passed', async () => {
    const dealId = `window-${crypto.randomUUID()}`;
    const seller = sellers[0]!;
    const deal = {
      dealId,
      buyerId: buyer().id,
      sellerId: seller.id,
      templateId: templateId(),
      templateHash: hashOf(seller),
      parameters: PARAMETERS,
      price: '1000',
      feeBps: FEE_BPS,
      compliance: RESEARCH_IN_US,
    };
    // The buyer signs a window of a few seconds; the operator starts the deal with one of 1 s.
    const terms = buyer().client.signTerms(
      'cohort_query',
      dealTermsBody({ ...deal, buyerKeyRef: '', acceptanceTimeoutMs: SIGNED_WINDOW_MS }, buyer()),
    );
    const before = await balanceOf(seller.id);
    const handle = await startDealWorkflow(test, { ...deal, acceptanceTimeoutMs: 1_000, terms });
    const status = () => buyer().client.get<DealStatus>(`/deals/${dealId}`);
    const delivered = await waitFor(status, (s) => s.stage === 'delivered' || s.problem !== undefined);
    expect(delivered.stage).toBe('delivered');
    const deliveredAt = delivered.timeline.find((t) => t.stage === 'delivered')!.at;
    oneTimeDeal = { dealId, scope: delivered.scope! };

    // A workflow of the operator's own asks settlement to pay now: without a confirmation, with the
    // buyer's genuine confirmation of this deal but sent from another run. Nothing is paid.
    const payout = {
      escrowId: dealEscrowId(dealId, termsNonceOf(terms)),
      sellerId: seller.id,
      buyerId: buyer().id,
      amount: '1000',
      feeBps: FEE_BPS,
      terms,
    };
    expect(await operatorPayout(payout)).toMatch(/^AcceptanceWindowOpen: the buyer did not confirm/);
    const genuine = signedBy(test, buyer().id, delivered.scope!, 'deal_confirmation', {});
    expect(await operatorPayout({ ...payout, confirmation: genuine })).toMatch(
      /^ConfirmationInvalid: .*signed for run/,
    );
    expect(await balanceOf(seller.id)).toBe(before);

    // The operator's 1 s has long passed; the deal still waits for the window its buyer signed.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await status()).stage).toBe('delivered');
    expect(await balanceOf(seller.id)).toBe(before);

    // Then the genuine path: the timer confirms and the seller is paid, no sooner than the window.
    const settled = await handle.result();
    expect(settled).toMatchObject({ stage: 'settled', confirmedBy: 'acceptance_timer' });
    expect(settled.attention).toBeUndefined();
    const settledAt = settled.timeline.find((t) => t.stage === 'settled')!.at;
    expect(settledAt).toBeGreaterThanOrEqual(deliveredAt + SIGNED_WINDOW_MS);
    expect((await balanceOf(seller.id)) - before).toBe(975n);
  });

  it("a multi-seller deal's confirmation unsigned, by another key or copied pays no seller", async () => {
    const dealId = `window-multi-${crypto.randomUUID()}`;
    const { client } = buyer();
    await client.post(
      '/multi-seller-deals',
      client.signed('multi_seller', {
        dealId,
        templateId: templateId(),
        sellers: sellers.map((seller) => ({
          sellerId: seller.id,
          templateHash: hashOf(seller),
          price: '1000',
        })),
        parameters: PARAMETERS,
        price: '2000',
        heKeyRef: secret.keyRef,
        compliance: RESEARCH_IN_US,
      }),
    );
    const status = () => client.get<MultiSellerDealStatus>(`/multi-seller-deals/${dealId}`);
    const delivered = await waitFor(
      status,
      (s) => s.stage === 'delivered' || s.problem !== undefined,
      180_000,
    );
    expect(delivered.stage).toBe('delivered');
    const scope = delivered.scope!;
    expect(scope).toMatchObject({ workflowId: dealId, subject: { id: dealId } });
    const before = await Promise.all(sellers.map((s) => balanceOf(s.id)));
    const handle = test.temporal.workflow.getHandle(dealId);
    const send = (request: unknown) =>
      updateRefusal(handle.executeUpdate(confirmMultiSellerDealUpdate, { args: [request as never] }));

    // The update as it was: no argument.
    expect(await updateRefusal(handle.executeUpdate('confirmMultiSellerDeal'))).toMatch(/not signed/);
    expect(await send({})).toMatch(/not signed/);
    // The seller's key, as itself or in the buyer's name.
    const sellersOwn = signDecision(sellers[0]!.keys.privateKeyPem, {
      ...scope,
      action: 'deal_confirmation',
      principal: sellers[0]!.id,
      content: {},
      notAfter: Date.now() + 600_000,
    });
    expect(await send({ signed: sellersOwn })).toMatch(new RegExp(`${buyer().id} must sign it`));
    const forged = signedBy(test, 'compliance-1', scope, 'deal_confirmation', {}, { principal: buyer().id });
    expect(await send({ signed: forged })).toMatch(new RegExp(`the signature is not ${buyer().id}'s`));
    // The buyer's genuine confirmation of the one-time deal, copied onto this one.
    const copied = signedBy(test, buyer().id, oneTimeDeal.scope, 'deal_confirmation', {});
    expect(await send({ signed: copied })).toMatch(/signed for run/);

    // And settlement, asked by the operator's own workflow to pay a share now: refused.
    const terms: SignedTerms = await handle.query(dealTermsQuery);
    expect(
      await operatorPayout({
        escrowId: shareEscrowId(dealId, sellers[0]!.id, termsNonceOf(terms)),
        sellerId: sellers[0]!.id,
        buyerId: buyer().id,
        amount: '1000',
        feeBps: FEE_BPS,
        terms,
      }),
    ).toMatch(/^AcceptanceWindowOpen/);

    expect((await status()).stage).toBe('delivered');
    expect(await Promise.all(sellers.map((s) => balanceOf(s.id)))).toEqual(before);

    // The buyer's own signed confirmation pays each seller its share at once.
    const confirmed = await confirmDeal<MultiSellerDealStatus>(client, dealId, 'multi_seller');
    expect(confirmed).toMatchObject({ stage: 'confirmed', confirmedBy: 'buyer' });
    const settled = await waitFor(status, (s) => s.stage === 'settled' || s.attention !== undefined);
    expect(settled.stage).toBe('settled');
    const after = await Promise.all(sellers.map((s) => balanceOf(s.id)));
    expect(after.map((balance, i) => balance - before[i]!)).toEqual(sellers.map(() => 975n));
  });

  it("a payment report unsigned or by another key is refused; the subscriber's own is taken", async () => {
    const subscriber = party(test, 'thin-buyer');
    const subscriptionId = 'window-grace';
    const seller = sellers[0]!;
    // One period's price is all the subscriber has: the second period's charge fails, opening grace.
    await subscriber.client.post(
      '/subscriptions',
      subscriber.client.signed('subscription', {
        subscriptionId,
        queries: [
          {
            templateId: templateId(),
            sellerId: seller.id,
            templateHash: hashOf(seller),
            parameters: PARAMETERS,
          },
        ],
        pricePerPeriod: '1000',
        periodSeconds: 3,
        buyerPublicKey: subscriber.resultPublicKey,
        compliance: RESEARCH_IN_US,
      }),
    );
    const status = () => subscriber.client.get<SubscriptionStatus>(`/subscriptions/${subscriptionId}`);
    const inGrace = await waitFor(status, (s) => s.stage === 'grace' || s.stage === 'suspended', 120_000);
    expect(inGrace.stage).toBe('grace');
    const scope = inGrace.scope!;
    const period = inGrace.currentPeriod;
    const handle = test.temporal.workflow.getHandle(subscriptionWorkflowId(subscriptionId));
    const send = (request: unknown) =>
      updateRefusal(handle.executeUpdate(paymentReadyUpdate, { args: [request as never] }));

    // The update as it was: an unsigned `by` naming the subscriber.
    expect(await send({ by: subscriber.id })).toMatch(/not signed/);
    // Another key in the subscriber's name; the subscriber's own report for another period.
    const forged = signedBy(
      test,
      buyer().id,
      scope,
      'subscription_payment_ready',
      { period },
      {
        principal: subscriber.id,
      },
    );
    expect(await send({ signed: forged })).toMatch(new RegExp(`the signature is not ${subscriber.id}'s`));
    const otherPeriod = signedBy(test, subscriber.id, scope, 'subscription_payment_ready', {
      period: period + 1,
    });
    expect(await send({ signed: otherPeriod })).toMatch(/signed over/);
    // Another buyer, signing as itself.
    const outsider = signedBy(test, buyer().id, scope, 'subscription_payment_ready', { period });
    expect(await send({ signed: outsider })).toMatch(/only the subscriber reports a payment/);
    expect((await status()).stage).toBe('grace');

    // The subscriber's own signed report, through the SDK as its CLI sends it: taken.
    expect(await reportPaymentReady(subscriber.client, subscriptionId)).toEqual({ accepted: true });
  });
});
