import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxJournal } from '../../activities/settlement/tx-journal';
import { blindedReceiptId } from '../../lib/ids/receipt-id';
import { dealEscrowId } from '../../lib/ids/escrow-ids';
import { deriveDealSecret } from '../../contracts/deal-secrets';
import { aztecPaths } from '../../contracts/deployment';
import type { SignedTerms } from '../../lib/signed-terms';
import { dealStatusQuery } from '../../workflows/deal/workflow';
import {
  buyDeal,
  dealTermsBody,
  RESEARCH_IN_US,
  startDealWorkflow,
  type TestDeployment,
} from '../integration/harness';
import {
  balances,
  callSettlement,
  chain,
  escrowOfDeal,
  moved,
  payWhenAsked,
  startAztecTestDeployment,
  statusViaApi,
  TEST_ACCOUNT,
  termsOfWorkflow,
  untilSettledWithReceipt,
} from './harness';
import { cliPayer } from './cli-pay';
import { landedTransactions } from './lifecycle-helpers';
import { confirmDeal } from '../../lib/signed-actions';

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

  /**
   * Terms the demo buyer signs, with its own key through the SDK's helper, for a deal at `money` (the
   * template's price and seller unless told): what settlement needs before it moves anything.
   */
  function buyerTerms(dealId: string, money: { price?: string; sellerId?: string; nonce?: string } = {}) {
    const { nonce, ...asked } = money;
    const body = dealTermsBody(
      {
        dealId,
        buyerId: 'demo-buyer',
        sellerId: test.seller.id,
        templateId: 'cohort-cost-by-zip3',
        templateHash: signedHash,
        parameters: PARAMETERS,
        price: '1000',
        feeBps: 250,
        buyerKeyRef: '',
        compliance: RESEARCH_IN_US,
        acceptanceTimeoutMs: 60_000,
        ...asked,
      },
      test.deployment.buyer,
    );
    return test.deployment.buyer.client.signTerms('cohort_query', { ...body, ...(nonce ? { nonce } : {}) });
  }
  /** A deal id with the buyer's terms for it, and the escrow those terms name. */
  function signedUnknownDeal(money: { price?: string; sellerId?: string } = {}) {
    const dealId = `unknown-${crypto.randomUUID()}`;
    const terms = buyerTerms(dealId, money);
    return { terms, escrow: dealEscrowId(dealId, terms.body.nonce as string) };
  }

  let paidDeal: { dealId: string; escrow: string; terms: SignedTerms };

  it('a paid deal is released: price minus fee to the seller, the fee to the operator, a private receipt to the buyer', async () => {
    const before = await balances();
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    // The buyer pays with the CLI, as a user would: it waits for the escrow, then pays from its wallet.
    const payer = await cliPayer(test, test.deployment.buyer, buyer);
    try {
      await payer.keep('cohort_query', deal.dealId, deal.signed);
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
    await confirmDeal(test.deployment.buyer.client, deal.dealId);
    const settled = await untilSettledWithReceipt(test.deployment, deal.dealId);
    expect(settled.stage).toBe('settled');

    // The escrow is named by the deal id under the nonce of the terms the buyer signed.
    const escrow = await escrowOfDeal(test, deal.dealId);
    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({ [buyer]: -1000n, [seller]: 975n, [operator]: 25n });
    expect(after.escrows[escrow]).toBe(0n);

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
    paidDeal = { dealId: deal.dealId, escrow, terms: await termsOfWorkflow(test, deal.dealId) };

    // Transactions: the buyer's payment, then one for seller, fee and receipt (the escrow's constructor
    // in it too). Nothing else was sent for this deal.
    const log = await readFile(test.deployment.services.get('settlement worker')!.logFile, 'utf8');
    const sent = landedTransactions(log).filter((line) => line.dealId === escrow);
    expect(sent.map((line) => line.action)).toEqual(['release']);
  });

  it('keeps the escrow master secret and escrow keys out of the history and the logs', async () => {
    const master = Buffer.from(
      (await readFile(aztecPaths(inject('aztecOperatorHome')).escrowSecret, 'utf8')).trim(),
      'hex',
    );
    // Each escrow's keys derive from its escrow id.
    const escrowKey = deriveDealSecret(master, 'escrow-secret-key', paidDeal.escrow).toString('hex');
    const history = JSON.stringify(await test.temporal.workflow.getHandle(paidDeal.dealId).fetchHistory());
    const payloads = [...history.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64').toString(),
    );
    const log = await readFile(test.deployment.services.get('settlement worker')!.logFile, 'utf8');
    for (const place of [history, payloads.join('\n'), log]) {
      expect(place).not.toContain(master.toString('hex'));
      expect(place).not.toContain(escrowKey);
    }
    expect(landedTransactions(log).map((line) => [line.action, line.dealId])).toContainEqual([
      'release',
      paidDeal.escrow,
    ]);
  });

  it("a release asked again after it landed, outside the paying run and without the buyer's confirmation, pays nobody again", async () => {
    const { escrow: dealId, terms } = paidDeal;
    const journaled = await new TxJournal(join(test.home, 'settlement-journal')).get(dealId, 'release');
    const before = await balances([dealId]);
    // Asked outside the deal's run, without the buyer's confirmation, inside its signed window: refused
    // before the escrow is looked at (the deal's own run, retrying, gets its journaled transaction:
    // worker-crash.test.ts).
    expect(journaled?.txHash).toBeDefined();
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId,
        sellerId: test.seller.id,
        buyerId: 'demo-buyer',
        amount: '1000',
        feeBps: 250,
        terms,
      }),
    ).rejects.toMatchObject({ type: 'AcceptanceWindowOpen' });
    // A refund of a delivered deal is the seller's loss: refused without the seller's signed consent or
    // two compliance votes, before the escrow is looked at.
    await expect(
      callSettlement(test, 'refundEscrow', { dealId, buyerId: 'demo-buyer', amount: '1000', terms }),
    ).rejects.toMatchObject({ type: 'RefundUnsigned' });
    // Another amount under the deal's terms is refused by the terms, before the escrow is looked at.
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId,
        sellerId: test.seller.id,
        amount: '2000',
        feeBps: 250,
        terms,
      }),
    ).rejects.toMatchObject({
      type: 'TermsMismatch',
      message: 'a payout of 2000 asked; the payer signed 1000',
    });
    // Even terms the buyer signed again under the same nonce at another price do not pay twice: the
    // escrow was settled for what it held (or, inside the new terms' window, nothing is asked of it).
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId,
        sellerId: test.seller.id,
        amount: '2000',
        feeBps: 250,
        terms: buyerTerms(paidDeal.dealId, { price: '2000', nonce: terms.body.nonce as string }),
      }),
    ).rejects.toMatchObject({
      type: expect.stringMatching(/^(EscrowMismatch|AcceptanceWindowOpen)$/),
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
    const escrow = await escrowOfDeal(test, dealId);
    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
    expect(after.escrows[escrow]).toBe(0n);
  });

  it('a wrong payment is returned to the buyer and the deal refused with the reason', async () => {
    const before = await balances();
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', { ...PARAMETERS, sex: 'M' });
    await payWhenAsked(statusViaApi(test.deployment, deal.dealId), '1500');
    const status = await deal.delivered();
    const escrow = await escrowOfDeal(test, deal.dealId);
    expect(status).toMatchObject({
      stage: 'failed',
      problem: {
        code: 'EscrowMismatch',
        reason: `escrow ${escrow} received 1500, the deal costs 1000; the payment went back to the buyer`,
      },
    });
    expect(status.result).toBeUndefined();
    const after = await balances([escrow]);
    expect(moved(before, after)).toEqual({ [buyer]: 0n, [seller]: 0n, [operator]: 0n });
    expect(after.escrows[escrow]).toBe(0n);
  });

  it('unknown deals, bad amounts and parties without an Aztec account are refused with clear errors', async () => {
    // Without the payer's signed terms nothing is even looked at.
    const unsigned = signedUnknownDeal().escrow;
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: unsigned,
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 250,
      }),
    ).rejects.toMatchObject({
      type: 'TermsSignatureInvalid',
      message: 'no signed terms of the payer came with it',
    });

    // Genuine terms for a deal that never locked anything: nothing was delivered, so no payout is
    // even considered without the buyer's confirmation; nor a refund without the perimeter's signed
    // refusal (before the buyer's notAfter), since settlement cannot tell it was never answered.
    const { escrow: unknown, terms } = signedUnknownDeal();
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: unknown,
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 250,
        terms,
      }),
    ).rejects.toMatchObject({
      type: 'AcceptanceWindowOpen',
      message: 'the buyer did not confirm and settlement was never shown the delivery: nothing is paid',
    });
    await expect(
      callSettlement(test, 'refundEscrow', { dealId: unknown, buyerId: 'demo-buyer', amount: '1000', terms }),
    ).rejects.toMatchObject({
      type: 'RefundUnproven',
      message: expect.stringContaining(`no refusal signed by ${test.seller.id}'s perimeter`),
    });

    // A negative amount cannot be signed: the lock is refused by the buyer's terms, and terms that
    // state one do not state money at all.
    await expect(
      callSettlement(test, 'openEscrow', { dealId: unknown, buyerId: 'demo-buyer', amount: '-5', terms }),
    ).rejects.toMatchObject({ type: 'TermsMismatch', message: 'a lock of -5 asked; the payer signed 1000' });
    const negative = signedUnknownDeal({ price: '-5' });
    await expect(
      callSettlement(test, 'openEscrow', {
        dealId: negative.escrow,
        buyerId: 'demo-buyer',
        amount: '-5',
        terms: negative.terms,
      }),
    ).rejects.toMatchObject({
      type: 'TermsMismatch',
      message: expect.stringMatching(/^the signed cohort_query terms do not state the money: price: /),
    });
    // A zero price the buyer did sign is the adapter's to refuse.
    const free = signedUnknownDeal({ price: '0' });
    await expect(
      callSettlement(test, 'openEscrow', {
        dealId: free.escrow,
        buyerId: 'demo-buyer',
        amount: '0',
        terms: free.terms,
      }),
    ).rejects.toMatchObject({
      type: 'InvalidAmount',
      message: 'amount must be a positive whole number of smallest units, got "0"',
    });

    // A payee the buyer signed that has no party behind it.
    const toNobody = signedUnknownDeal({ sellerId: 'nobody' });
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: toNobody.escrow,
        sellerId: 'nobody',
        amount: '1000',
        feeBps: 250,
        terms: toNobody.terms,
      }),
    ).rejects.toMatchObject({ type: 'AcceptanceWindowOpen' });
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: 'm1.seller-a',
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 250,
        terms,
      }),
    ).rejects.toMatchObject({ type: 'InvalidEscrowId', message: 'm1.seller-a is not an escrow id' });
    // A fee above 100 % cannot be signed (the terms say 0..10000): the buyer's terms refuse it.
    await expect(
      callSettlement(test, 'releaseEscrow', {
        dealId: unknown,
        sellerId: test.seller.id,
        amount: '1000',
        feeBps: 20_000,
        terms,
      }),
    ).rejects.toMatchObject({
      type: 'TermsMismatch',
      message: 'a fee of 20000 bps asked; the payer signed 250 bps',
    });
  });

  it('every process, the settlement worker on Aztec too, shuts down by itself on SIGTERM', async () => {
    const endings = await test.deployment.stop();
    expect(endings['settlement worker']).toBe('graceful');
    expect(Object.values(endings).every((ending) => ending === 'graceful')).toBe(true);
  });
});
