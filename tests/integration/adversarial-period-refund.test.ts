import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { periodEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { subscriptionRunId } from '../../lib/ids/run-ids';
import { refusalStatement, signRefusalStatement } from '../../lib/refusal-statement';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { operatorWithdraw, type MoneyBackRequest } from '../fixtures/operator-refund-workflow';
import { BlobStore } from '../../lib/blob-store';
import { x25519KeyDocument } from '../../lib/signed-terms';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { subscription, subscriptionStatusQuery } from '../../workflows/subscription/workflow';
import { RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import { startOperatorWorker, type OperatorWorker } from './operator-worker';
import { waitFor } from './lifecycle-harness';

const OPERATOR_QUEUE = 'operator-period-refund';
const BUYER = 'demo-buyer';
const PRICE = '1000';

/**
 * The operator runs Temporal and every workflow worker: it can lock a subscriber's genuinely signed
 * period itself, never run its queries (or run them and hide the answers), and ask for the period's
 * charge back. Settlement refunds a period only on the seller's perimeter's signed refusal of every
 * run of that period under the subscriber's terms.
 */
describe('refunds of a subscription period, asked for on Temporal', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorWorker: OperatorWorker | undefined;

  const balance = () => test.deployment.ledger.balanceOf(BUYER);
  const execute = <A extends unknown[], R>(workflow: (...args: A) => Promise<R>, args: A) =>
    operatorWorker!.execute(workflow, args);
  const operator = (request: MoneyBackRequest) => operatorWorker!.moneyBack(request);
  /** The subscriber's own signature over a subscription of two scheduled queries. */
  const subscriberSigned = (subscriptionId: string): SignedTerms => {
    const query = {
      templateId: template.id,
      sellerId: test.seller.id,
      templateHash: templateHash(template),
      parameters: { min_age: 30, max_age: 50, sex: 'F' },
    };
    return test.deployment.buyer.client.signTerms('subscription', {
      subscriptionId,
      queries: [query, { ...query, parameters: { min_age: 20, max_age: 40, sex: 'M' } }],
      pricePerPeriod: PRICE,
      periodSeconds: 3600,
      periods: 3,
      feeBps: 250,
      resultKeyRef: `sha256:${'0'.repeat(64)}`,
      compliance: RESEARCH_IN_US,
    });
  };

  beforeAll(async () => {
    test = await startTestDeployment('periods', async (s) => {
      template = await s.publishDemoTemplate();
    });
    operatorWorker = await startOperatorWorker(test, OPERATOR_QUEUE);
  });
  afterAll(async () => {
    await operatorWorker?.close();
    await test?.close();
  });

  it('a locked period is not refunded without the perimeter refusing each of its runs; it is with them', async () => {
    const subscriptionId = `sub-refund-${crypto.randomUUID()}`;
    const terms = subscriberSigned(subscriptionId);
    const escrow = periodEscrowId(subscriptionId, 1, termsNonceOf(terms));
    const before = await balance();
    const lock = {
      dealId: escrow,
      buyerId: BUYER,
      amount: PRICE,
      terms,
      payeeId: test.seller.id,
      feeBps: 250,
    };
    expect(await operator({ action: 'lockEscrow', input: lock })).toBe('moved');
    const locked = await balance();
    expect(locked).toBe(before - BigInt(PRICE));

    const refund = { dealId: escrow, buyerId: BUYER, amount: PRICE, terms };
    const refundWith = (refusal?: unknown) =>
      operator({ action: 'refundEscrow', input: refusal === undefined ? refund : { ...refund, refusal } });
    // Before the period could even have ended, with nothing from the perimeter.
    expect(await refundWith()).toMatch(/^RefundUnproven: settlement has no proof that period 1 /);
    expect(await refundWith([])).toMatch(/^RefundUnproven: /);

    const [run0, run1] = [0, 1].map((i) => subscriptionRunId(subscriptionId, 1, i));
    const forged = signRefusalStatement(
      {
        type: 'tusk.refusal/v1',
        sellerId: test.seller.id,
        dealId: run0!,
        termsHash: termsHashOf(terms),
        code: 'Withdrawn',
      },
      generateEd25519KeyPair(),
    );
    expect(await refundWith([forged])).toMatch(/^RefundUnproven: .*not .*registered perimeter key/);
    expect(await balance()).toBe(locked);

    // The perimeter's genuine refusal of one run: the other run of the period may have been answered.
    const withdraw = (dealId: string) =>
      execute(operatorWithdraw, [test.seller.id, { dealId, terms }]).then((r) => refusalStatement.parse(r));
    const refused0 = await withdraw(run0!);
    expect(refused0.body).toMatchObject({ dealId: run0, termsHash: termsHashOf(terms) });
    expect(await refundWith([refused0])).toMatch(new RegExp(`^RefundUnproven: .*run ${run1}`));
    // Period 2's refusal does not refund period 1.
    const refusedOther = await withdraw(subscriptionRunId(subscriptionId, 2, 1));
    expect(await refundWith([refused0, refusedOther])).toMatch(/^RefundUnproven: /);
    // The same run under other terms of the subscriber does not either.
    const otherTerms = subscriberSigned(subscriptionId);
    const refusedOtherTerms = await execute(operatorWithdraw, [
      test.seller.id,
      { dealId: run1!, terms: otherTerms },
    ]);
    expect(await refundWith([refused0, refusedOtherTerms])).toMatch(/^RefundUnproven: .*other terms/);
    expect(await balance()).toBe(locked);

    const refused1 = await withdraw(run1!);
    expect(await refundWith([refused1, refused0])).toBe('moved');
    expect(await balance()).toBe(before);
  });

  it("a period whose every run the perimeter refused is refunded by the workflow, on the perimeter's signed refusals", async () => {
    const subscriptionId = `sub-refused-${crypto.randomUUID()}`;
    // The subscriber signed another result key than the workflow hands the perimeter: each run is
    // refused (TermsMismatch) after the period was charged.
    const terms = subscriberSigned(subscriptionId);
    const buyerKeyRef = await new BlobStore(join(test.home, 'blobs')).put(
      x25519KeyDocument(test.deployment.buyer.resultPublicKey),
    );
    const before = await balance();
    const handle = await test.temporal.workflow.start(subscription, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: subscriptionId,
      args: [
        {
          subscriptionId,
          buyerId: BUYER,
          sellerId: test.seller.id,
          pricePerPeriod: PRICE,
          feeBps: 250,
          buyerKeyRef,
          compliance: RESEARCH_IN_US,
          queries: terms.body.queries as never,
          periodMs: 600_000,
          graceMs: 60_000,
          periodsPerRun: 2,
          terms,
        },
      ],
    });
    try {
      const status = await waitFor(
        () => handle.query(subscriptionStatusQuery),
        (s) => s.periodsCharged === 1 && s.deliveries.length === 1,
      );
      expect(
        status.deliveries[0]!.results.map((r) => ('problem' in r ? r.problem.code : 'answered')),
      ).toEqual(['TermsMismatch', 'TermsMismatch']);
      // The refund is settled after the delivery is recorded: the balance comes back once it is.
      await waitFor(
        () => balance().then(String),
        (b) => b === String(before),
      );
      expect((await handle.query(subscriptionStatusQuery)).attention ?? []).toEqual([]);
    } finally {
      await handle.terminate('test over');
    }
  });
});
