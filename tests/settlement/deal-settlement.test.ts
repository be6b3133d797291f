import { dealEscrowId } from '../../activities/settlement/types';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxJournal } from '../../activities/settlement/tx-journal';
import { blindedReceiptId } from '../../activities/settlement/receipt-id';
import { deriveDealSecret } from '../../contracts/deal-secrets';
import { aztecPaths } from '../../contracts/deployment';
import { dealStatusQuery } from '../../workflows/deal/workflow';
import { buyDeal, startDealWorkflow, type TestDeployment } from '../integration/harness';
import {
  balances,
  callSettlement,
  chain,
  moved,
  payWhenAsked,
  startAztecTestDeployment,
  statusViaApi,
  TEST_ACCOUNT,
  untilSettledWithReceipt,
} from './harness';
import { cliPayer } from './cli-pay';

const { buyer, seller, operator } = TEST_ACCOUNT;
const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

describe('deals settled on a real Aztec local network', () => {
  let test: TestDeployment;
  let signedHash: string;
  beforeAll(async () => {
    test = await startAztecTestDeployment('aztec-deal');
    const { templates } = await test.deployment.buyer.client.get<{
      templates: { id: string; hash: string }[];
    }>('/templates');
    signedHash = templates.find((t) => t.id === 'cohort-cost-by-zip3')!.hash;
  });
  afterAll(() => test?.close());

  let paidDeal: { dealId: string };

  it('a paid deal is released: price minus fee to the seller, the fee to the operator, a private receipt to the buyer', async () => {
    const before = await balances();
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    // The buyer pays with the CLI, as a user would: it waits for the escrow, then pays from its wallet.
    const payer = await cliPayer(test, test.deployment.buyer, buyer);
    try {
      const paid = await payer.pay(['buyer', 'pay', deal.dealId]);
      expect(paid.code, paid.stderr).toBe(0);
      expect(paid.payments).toEqual([expect.objectContaining({ amount: '1000' })]);
      // Run again, it sends nothing: the payment is on record, or the deal no longer expects one.
      const again = await payer.pay(['buyer', 'pay', deal.dealId]);
      expect(again.code === 0 ? again.payments : again.stderr).toEqual(
        again.code === 0
          ? [expect.objectContaining({ before: true })]
          : expect.stringContaining('nothing to pay'),
      );
    } finally {
      await payer.close();
    }
    const delivered = await deal.delivered();
    expect(delivered.stage).toBe('delivered');
    await test.deployment.buyer.client.post(`/deals/${deal.dealId}/confirm`);
    const settled = await untilSettledWithReceipt(test.deployment, deal.dealId);
    expect(settled.stage).toBe('settled');

    const after = await balances([dealEscrowId(deal.dealId)]);
    expect(moved(before, after)).toEqual({ [buyer]: -1000n, [seller]: 975n, [operator]: 25n });
    expect(after.escrows[dealEscrowId(deal.dealId)]).toBe(0n);

    const receipt = settled.receipt!;
    expect(blindedReceiptId(settled.result!.commitment, Buffer.from(receipt.salt, 'hex'))).toBe(receipt.id);
    expect(await chain().receipts(buyer)).toContain(receipt.id);
    expect(settled.timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'budget_reserved',
      'escrow_locked',
      'query_running',
      'delivered',
      'confirmed',
      'settled',
    ]);
    paidDeal = { dealId: deal.dealId };

    // Transactions: the buyer's payment, then one for seller, fee and receipt (the escrow's constructor
    // in it too). Nothing else was sent for this deal.
    const log = await readFile(test.deployment.services.get('settlement worker')!.logFile, 'utf8');
    const sent = [...log.matchAll(/^settlement: (\S+) of (\S+) in block/gm)].filter(
      (line) => line[2] === dealEscrowId(deal.dealId),
    );
    expect(sent.map((line) => line[1])).toEqual(['release']);
  });

  it('keeps the escrow master secret and escrow keys out of the history and the logs', async () => {
    const master = Buffer.from(
      (await readFile(aztecPaths(inject('aztecOperatorHome')).escrowSecret, 'utf8')).trim(),
      'hex',
    );
    const escrowKey = deriveDealSecret(master, 'escrow-secret-key', paidDeal.dealId).toString('hex');
    const history = JSON.stringify(await test.temporal.workflow.getHandle(paidDeal.dealId).fetchHistory());
    const payloads = [...history.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64').toString(),
    );
    const log = await readFile(test.deployment.services.get('settlement worker')!.logFile, 'utf8');
    for (const place of [history, payloads.join('\n'), log]) {
      expect(place).not.toContain(master.toString('hex'));
      expect(place).not.toContain(escrowKey);
    }
    expect(log).toContain(`settlement: release of ${dealEscrowId(paidDeal.dealId)} in block`);
  });

  it('a release repeated after it landed returns the same transaction and pays nobody again', async () => {
    const dealId = dealEscrowId(paidDeal.dealId);
    const journaled = await new TxJournal(join(test.home, 'settlement-journal')).get(dealId, 'release');
    const before = await balances([dealId]);
    const again = await callSettlement(test, 'releaseEscrow', {
      dealId,
      sellerId: test.seller.id,
      buyerId: 'demo-buyer',
      amount: '1000',
      feeBps: 250,
    });
    expect(again).toEqual({ dealId, sellerAmount: '975', feeAmount: '25', txHash: journaled!.txHash });
    await expect(
      callSettlement(test, 'refundEscrow', { dealId, buyerId: 'demo-buyer', amount: '1000' }),
    ).rejects.toMatchObject({ type: 'EscrowAlreadySettled', message: `escrow ${dealId} was released` });
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId,
        sellerId: test.seller.id,
        amount: '2000',
        feeBps: 250,
      }),
    ).rejects.toMatchObject({
      type: 'EscrowMismatch',
      message: `escrow ${dealId} was settled for 1000, not 2000`,
    });
    const after = await balances([dealId]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
  });

  it('a query the perimeter refuses after payment is refunded in full', async () => {
    const before = await balances();
    const handle = await startDealWorkflow(test, {
      templateId: 'cohort-cost-by-zip3',
      templateHash: signedHash,
      // A result key the buyer did not sign: the perimeter checks it only when it seals the result,
      // after the buyer paid, and refuses.
      buyerKeyRef: `sha256:${'0'.repeat(64)}`,
    });
    const dealId = handle.workflowId;
    await payWhenAsked(() => handle.query(dealStatusQuery), '1000');
    const status = await handle.result();
    expect(status).toMatchObject({ stage: 'refunded', problem: { code: 'TermsMismatch' } });
    const after = await balances([dealEscrowId(dealId)]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
    expect(after.escrows[dealEscrowId(dealId)]).toBe(0n);
  });

  it('a wrong payment is returned to the buyer and the deal refused with the reason', async () => {
    const before = await balances();
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', { ...PARAMETERS, sex: 'M' });
    await payWhenAsked(statusViaApi(test.deployment, deal.dealId), '1500');
    const status = await deal.delivered();
    expect(status).toMatchObject({
      stage: 'failed',
      problem: {
        code: 'EscrowMismatch',
        reason: `escrow ${dealEscrowId(deal.dealId)} received 1500, the deal costs 1000; the payment went back to the buyer`,
      },
    });
    expect(status.result).toBeUndefined();
    const after = await balances([dealEscrowId(deal.dealId)]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
    expect(after.escrows[dealEscrowId(deal.dealId)]).toBe(0n);
  });

  it('unknown deals, bad amounts and parties without an Aztec account are refused with clear errors', async () => {
    const unknown = dealEscrowId(`unknown-${crypto.randomUUID()}`);
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: unknown,
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 250,
      }),
    ).rejects.toMatchObject({ type: 'EscrowNotLocked', message: `escrow ${unknown} holds nothing` });
    await expect(
      callSettlement(test, 'refundEscrow', { dealId: unknown, buyerId: 'demo-buyer', amount: '1000' }),
    ).rejects.toMatchObject({ type: 'EscrowNotLocked', message: `escrow ${unknown} holds nothing` });
    await expect(
      callSettlement(test, 'openEscrow', { dealId: unknown, buyerId: 'demo-buyer', amount: '-5' }),
    ).rejects.toMatchObject({
      type: 'InvalidAmount',
      message: 'amount must be a positive whole number of smallest units, got "-5"',
    });
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: unknown,
        sellerId: 'nobody',
        amount: '1000',
        feeBps: 250,
      }),
    ).rejects.toMatchObject({ type: 'UnknownParty', message: 'no party nobody is registered' });
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: 'm1.seller-a',
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 250,
      }),
    ).rejects.toMatchObject({ type: 'InvalidEscrowId' });
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: unknown,
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 20_000,
      }),
    ).rejects.toMatchObject({ type: 'InvalidAmount', message: 'feeBps must be 0..10000' });
  });

  it('every process, the settlement worker on Aztec too, shuts down by itself on SIGTERM', async () => {
    const endings = await test.deployment.stop();
    expect(endings['settlement worker']).toBe('graceful');
    expect(Object.values(endings).every((ending) => ending === 'graceful')).toBe(true);
  });
});
