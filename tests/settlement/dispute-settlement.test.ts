import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DealStatus } from '../../workflows/deal/state';
import type { DisputeOutcome, DisputeStatus } from '../../workflows/dispute/state';
import { buyDeal, type TestDeployment } from '../integration/harness';
import { balances, escrowOfDeal, moved, payWhenAsked, statusViaApi, TEST_ACCOUNT } from './harness';
import {
  journalOf,
  killWhileInFlight,
  LANDED,
  party,
  scheduledCount,
  startAztecLifecycleDeployment,
  txStatus,
  waitFor,
} from './lifecycle-helpers';
import { approveOutcome, openDispute } from '../../lib/signed-actions';

const { buyer, seller, operator } = TEST_ACCOUNT;

describe('a dispute split settled on a real Aztec local network', () => {
  let test: TestDeployment;
  beforeAll(async () => {
    test = await startAztecLifecycleDeployment('aztec-dispute');
  });
  afterAll(() => test?.close());

  it('pays seller, fee and buyer from the frozen escrow exactly once, though the settlement worker is killed sending it', async () => {
    const before = await balances();
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    const { dealId } = deal;
    await payWhenAsked(statusViaApi(test.deployment, dealId), '1000');
    expect((await deal.delivered()).stage).toBe('delivered');

    const { client } = test.deployment.buyer;
    const as = (id: string) => party(test, id).client;
    expect(await openDispute<DealStatus>(client, dealId, 'the table is empty')).toMatchObject({
      stage: 'disputed',
    });
    await waitFor(
      () =>
        as('compliance-1')
          .get<DisputeStatus>(`/deals/${dealId}/dispute`)
          .catch(() => undefined),
      (s) => s?.stage === 'open',
    );
    const split: DisputeOutcome = { kind: 'split', sellerBps: 4000 };
    for (const principal of ['compliance-1', 'compliance-2'])
      await approveOutcome<DisputeStatus>(as(principal), dealId, split);

    // The split's one transaction is in flight: the settlement worker dies before recording it.
    const escrow = await escrowOfDeal(test, dealId);
    const { sent, statusAtKill } = await killWhileInFlight(test, escrow, 'split');
    expect(statusAtKill).toBe('pending');
    expect((await statusViaApi(test.deployment, dealId)()).stage).toBe('disputed');
    await test.deployment.restart('settlement worker');

    const settled = await waitFor(
      statusViaApi(test.deployment, dealId),
      (s) => s.stage === 'settled' || s.stage === 'needs_attention' || s.stage === 'failed',
      300_000,
    );
    expect(settled).toMatchObject({ stage: 'settled', dispute: { outcome: split, resolvedBy: 'approvals' } });

    const after = await balances([escrow]);
    // 40 % of 1000 to the seller less the 2.5 % fee on it; the other 60 % back to the buyer.
    expect(moved(before, after)).toEqual({ [buyer]: -1000n + 600n, [seller]: 390n, [operator]: 10n });
    expect(after.escrows[escrow]).toBe(0n);
    const journal = journalOf(test);
    expect((await journal.get(escrow, 'split'))?.txHash).toBe(sent.txHash);
    expect(LANDED).toContain(await txStatus(sent.txHash));
    for (const action of ['release', 'refund'] as const)
      expect(await journal.get(escrow, action)).toBeUndefined();
    expect(await scheduledCount(test, dealId, 'splitEscrow')).toBe(1);
  });
});
