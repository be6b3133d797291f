import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDealResult, waitForStage } from '../../cli/buyer/commands';
import type { DealStatus } from '../../workflows/deal/state';
import { budgetOf, buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { slowTemplate } from './slow-template';
import { confirmDeal } from '../../lib/signed-actions';

const STARTED = temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

describe('a perimeter worker killed mid-query', () => {
  let test: TestDeployment;

  beforeAll(async () => {
    test = await startTestDeployment('crash', async (seller) => {
      await seller.publish(slowTemplate(await seller.publishDemoTemplate()));
    });
  });
  afterAll(() => test?.close());

  async function waitUntilQueryStarted(dealId: string): Promise<void> {
    const handle = test.temporal.workflow.getHandle(dealId);
    await expect
      .poll(
        async () => {
          const { raw } = await handle.describe();
          return (raw.pendingActivities ?? []).some(
            (a) => a.activityType?.name === 'runApprovedQuery' && a.state === STARTED,
          );
        },
        { timeout: 30_000, interval: 50 },
      )
      .toBe(true);
  }

  it('is retried on the restarted worker; the deal completes once and pays once', async () => {
    const deal = await buyDeal(test.deployment, 'visits-repeated', { repeat: 300, min_age: 0 });
    await waitUntilQueryStarted(deal.dealId);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await test.deployment.services.get('perimeter worker')!.kill();

    const during = await test.deployment.buyer.client.get<DealStatus>(`/deals/${deal.dealId}`);
    expect(during.stage).toBe('query_running');
    await test.deployment.restart('perimeter worker');

    const delivered = await deal.delivered();
    expect(delivered.stage).toBe('delivered');
    await confirmDeal(test.deployment.buyer.client, deal.dealId);
    await waitForStage(test.deployment.buyer.client, deal.dealId, (s) => s.stage === 'settled', 60_000);

    const events = (await test.temporal.workflow.getHandle(deal.dealId).fetchHistory()).events ?? [];
    const queries = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runApprovedQuery',
    );
    expect(queries).toHaveLength(1);
    const queryEventId = queries[0]!.eventId!.toString();
    const started = events.filter(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === queryEventId,
    );
    const completed = events.filter(
      (e) => e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === queryEventId,
    );
    // The history keeps the attempt that finished: the one after the kill.
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([2]);
    expect(completed).toHaveLength(1);

    const { ledger } = test.deployment;
    expect(await ledger.balanceOf('demo-buyer')).toBe(4000n);
    expect(await ledger.balanceOf(test.seller.id)).toBe(975n);
    // The privacy budget is charged once, for one answer.
    const budget = await budgetOf(test.deployment.buyer.client, test.seller.id);
    expect(budget.buyer!.spent.epsilon).toBe(2);
    expect(budget.total.spent.epsilon).toBe(2);
    const payload = await openDealResult(
      test.deployment.buyer.client,
      test.deployment.buyer.resultKeyPem,
      deal.dealId,
    );
    expect(payload.rows.length).toBeGreaterThan(0);
  });
});
