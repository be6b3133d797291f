import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import type { SubscriptionStatus } from '../../workflows/subscription/state';
import { subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { RESEARCH_IN_US, type TestDeployment } from '../integration/harness';
import { terminateRunning } from '../integration/lifecycle-harness';
import { balances, moved, TEST_ACCOUNT } from './harness';
import { payInto, sentFor, startAztecLifecycleDeployment, waitFor } from './lifecycle-helpers';
import { cancelSubscription } from '../../lib/signed-actions';

const { buyer, seller, operator } = TEST_ACCOUNT;
/** Shorter than a period's payment and release on Aztec: each period waits only for its payment. */
const PERIOD_S = 15;
const PRICE = 1000n;

describe('a subscription settled on a real Aztec local network', () => {
  let test: TestDeployment;
  const subscriptionId = `sub-aztec-${crypto.randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    test = await startAztecLifecycleDeployment('aztec-sub', {
      env: { TUSK_MIN_PERIOD_MS: '1000', TUSK_PERIODS_PER_RUN: '2' },
    });
  });
  afterAll(async () => {
    if (test) await terminateRunning(test.temporal, [subscriptionWorkflowId(subscriptionId)]);
    await test?.close();
  });

  it('renews twice, each period paid from the subscriber’s wallet into its own escrow, then is cancelled', async () => {
    const { client } = test.deployment.buyer;
    const status = () => client.get<SubscriptionStatus>(`/subscriptions/${subscriptionId}`);
    const before = await balances();
    const { templates } = await client.get<{ templates: { id: string; seller: string; hash: string }[] }>(
      '/templates',
    );
    // The payer signs the request: its escrows are named under the nonce it signed.
    const signed = client.signed('subscription', {
      subscriptionId,
      queries: [
        {
          templateId: templates[0]!.id,
          sellerId: templates[0]!.seller,
          templateHash: templates[0]!.hash,
          parameters: { min_age: 30, max_age: 50, sex: 'F' },
        },
      ],
      pricePerPeriod: PRICE.toString(),
      periodSeconds: PERIOD_S,
      buyerPublicKey: test.deployment.buyer.resultPublicKey,
      compliance: RESEARCH_IN_US,
    });
    const created = await client.request<SubscriptionStatus>('POST', '/subscriptions', signed);
    expect(created.status).toBe(201);

    const addresses = new Set<string>();
    for (const period of [1, 2, 3]) {
      const asked = await waitFor(
        status,
        (s) => s.payment?.period === period || s.problem !== undefined,
        240_000,
      );
      expect(asked.problem).toBeUndefined();
      expect(asked.payment).toMatchObject({ period, amount: PRICE.toString() });
      addresses.add(asked.payment!.address);
      // Cancelled while the third period waits for its charge: that period is still paid and
      // delivered, and nothing is charged after it.
      if (period === 3)
        expect(await cancelSubscription<SubscriptionStatus>(client, subscriptionId)).toMatchObject({
          stage: 'cancelling',
        });
      await payInto(buyer, asked.payment!.address, PRICE.toString());
    }
    expect(addresses.size).toBe(3);

    const cancelled = await waitFor(status, (s) => s.stage === 'cancelled', 300_000);
    expect(cancelled).toMatchObject({ currentPeriod: 3, periodsCharged: 3, cancelledBy: 'demo-buyer' });
    expect(cancelled.attention).toBeUndefined();
    expect(cancelled.deliveries.map((d) => d.period)).toEqual([1, 2, 3]);
    expect(cancelled.run).toBe(2);

    const nonce = termsNonceOf({ body: signed });
    const escrows = [1, 2, 3].map((period) => periodEscrowId(subscriptionId, period, nonce));
    const after = await balances(escrows);
    expect(moved(before, after)).toEqual({
      [buyer]: -3n * PRICE,
      [seller]: 3n * 975n,
      [operator]: 3n * 25n,
    });
    for (const escrow of escrows) expect(after.escrows[escrow]).toBe(0n);
    // Per period: the subscriber's payment, then one release (seller and fee) from its escrow.
    for (const escrow of escrows) expect(await sentFor(test, escrow)).toEqual(['release']);
    expect(await sentFor(test, periodEscrowId(subscriptionId, 4, nonce))).toEqual([]);
  });
});
