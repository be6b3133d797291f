import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxJournal, type JournalEntry } from '../../activities/settlement/tx-journal';
import { buyDeal, type TestDeployment } from '../integration/harness';
import {
  balances,
  escrowOfDeal,
  moved,
  payWhenAsked,
  startAztecTestDeployment,
  statusViaApi,
  TEST_ACCOUNT,
  untilSettledWithReceipt,
  poll,
  txStatus,
} from './harness';
import { confirmDeal } from '../../lib/signed-actions';

const { buyer, seller, operator } = TEST_ACCOUNT;

describe('a settlement worker killed between sending the release and recording it', () => {
  let test: TestDeployment;
  beforeAll(async () => {
    test = await startAztecTestDeployment('aztec-crash');
  });
  afterAll(() => test?.close());

  it('the restarted worker follows the sent transaction: exactly one payment', async () => {
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    await payWhenAsked(statusViaApi(test.deployment, deal.dealId), '1000');
    expect((await deal.delivered()).stage).toBe('delivered');
    const before = await balances();

    const journal = new TxJournal(join(test.home, 'settlement-journal'));
    const escrow = await escrowOfDeal(test, deal.dealId);
    await confirmDeal(test.deployment.buyer.client, deal.dealId);
    // The release is journaled just before it is broadcast; once the node knows it, the worker is
    // waiting for its inclusion and has recorded nothing in Temporal yet: kill it there.
    const sent: JournalEntry = await poll('the journaled release', () => journal.get(escrow, 'release'));
    const statusAtKill = await poll('the release in the node', async () => {
      const status = await txStatus(sent.txHash);
      return status === 'dropped' ? undefined : status;
    });
    expect(statusAtKill).toBe('pending');
    await test.deployment.services.get('settlement worker')!.kill();
    expect((await statusViaApi(test.deployment, deal.dealId)()).stage).toBe('confirmed');

    await test.deployment.restart('settlement worker');
    const settled = await untilSettledWithReceipt(test.deployment, deal.dealId);
    expect(settled.stage).toBe('settled');

    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 975n, [operator]: 25n });
    expect(after.escrows[escrow]).toBe(0n);
    // The transaction sent before the kill is the one that landed: followed, not proven again.
    expect((await journal.get(escrow, 'release'))?.txHash).toBe(sent.txHash);
    expect(['checkpointed', 'proven', 'finalized']).toContain(await txStatus(sent.txHash));

    const events = (await test.temporal.workflow.getHandle(deal.dealId).fetchHistory()).events ?? [];
    const releases = events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'releaseEscrow',
    );
    expect(releases).toHaveLength(1);
    const scheduled = releases[0]!.eventId!.toString();
    const started = events.filter(
      (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled,
    );
    // The attempt the history keeps is the one that completed: a later one than the killed first.
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([2]);
  });
});
