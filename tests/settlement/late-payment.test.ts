import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DealStatus } from '../../workflows/deal/state';
import { buyDeal, type TestDeployment } from '../integration/harness';
import {
  ACCOUNTS,
  chain,
  escrowOfDeal,
  moved,
  startAztecTestDeployment,
  statusViaApi,
  TEST_ACCOUNT,
} from './harness';

const { buyer, seller, operator } = TEST_ACCOUNT;
/** Short, so the lock gives up soon; the late payment is watched for twice as long. */
const PAYMENT_WINDOW_MS = 60_000;

async function until(status: () => Promise<DealStatus>, done: (s: DealStatus) => boolean, timeoutMs: number) {
  for (const deadline = Date.now() + timeoutMs; ;) {
    const current = await status();
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`deal still ${current.stage}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe('a payment that arrives after the lock gave up', () => {
  let test: TestDeployment;
  beforeAll(async () => {
    test = await startAztecTestDeployment('aztec-late', PAYMENT_WINDOW_MS);
  });
  afterAll(() => test?.close());

  it('goes back to the buyer: nobody keeps it, the escrow ends empty', async () => {
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', {
      min_age: 30,
      max_age: 50,
      sex: 'F',
    });
    const status = statusViaApi(test.deployment, deal.dealId);
    const opened = await until(status, (s) => s.escrow !== undefined, 120_000);
    // The buyer's wallet finds the returned note by its sender, the escrow: registered from the start.
    const balances = (escrows: string[] = []) =>
      chain().balances({ accounts: ACCOUNTS, escrows, senders: [opened.escrow!.address] });
    const before = await balances();
    const failed = await until(status, (s) => s.stage === 'failed', PAYMENT_WINDOW_MS + 120_000);
    expect(failed.problem).toMatchObject({ code: 'PaymentNotReceived' });

    // The buyer pays the address it was given, too late.
    await chain().pay(buyer, opened.escrow!.address, '1000');
    const escrow = await escrowOfDeal(test, deal.dealId);
    for (const deadline = Date.now() + PAYMENT_WINDOW_MS + 120_000; ;) {
      const now = await balances([escrow]);
      if (now.escrows[escrow] === 0n && moved(before, now)[buyer] === 0n) break;
      if (Date.now() > deadline) throw new Error(`the late payment is still in escrow ${escrow}`);
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
    expect((await status()).stage).toBe('failed');
  });
});
