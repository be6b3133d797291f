import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dealEscrowId, disputeEscrowId, grantEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import type { SignedTerms } from '../../lib/signed-terms';
import { approveOutcome, openDispute } from '../../lib/signed-actions';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import type { QueryTemplate } from '../../query-policies/template';
import { dealTermsQuery } from '../../workflows/deal-terms';
import type { DealStatus } from '../../workflows/deal/state';
import type { GrantStatus } from '../../workflows/grant/state';
import { grantStatusQuery, milestoneGrant } from '../../workflows/grant/workflow';
import { disputeWorkflowId, grantWorkflowId } from '../../lib/ids/workflow-ids';
import { type MoneyBackRequest } from '../fixtures/operator-refund-workflow';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { ledgerBalances, startOperatorWorker, type OperatorWorker } from './operator-worker';
import {
  LIFECYCLE_PARTIES,
  party,
  sellerIdentity,
  signedBy,
  terminateRunning,
  waitFor,
} from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const OPERATOR_QUEUE = 'operator-money-back';

/**
 * The operator runs Temporal, the coordinator and every workflow worker: it can ask settlement for a
 * refund, a split or a grant's remainder straight from a workflow of its own. Settlement moves money
 * back only on the signature of the side that loses it: the compliance votes for a delivered deal's
 * refund or split, a missed signed deadline for a grant's remainder.
 */
describe('refunds, splits and remainders asked for on Temporal without the losing side', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorWorker: OperatorWorker | undefined;
  const grants: string[] = [];

  const balances = (...accounts: string[]) => ledgerBalances(test, ...accounts);
  const moneyBack = (request: MoneyBackRequest) => operatorWorker!.moneyBack(request);

  beforeAll(async () => {
    test = await startTestDeployment(
      'consent',
      async (s) => {
        template = await s.publishDemoTemplate();
      },
      { parties: LIFECYCLE_PARTIES, acceptanceTimeoutMs: 300_000 },
    );
    operatorWorker = await startOperatorWorker(test, OPERATOR_QUEUE);
  });
  afterAll(async () => {
    await operatorWorker?.close();
    if (test) await terminateRunning(test.temporal, grants.map(grantWorkflowId));
    await test?.close();
  });

  it('a delivered deal is neither refunded nor split without the compliance votes; with them it is refunded', async () => {
    const { buyer } = test.deployment;
    const seller = sellerIdentity(test);
    const before = await balances(buyer.id, seller.id);
    const deal = await buyDeal(test.deployment, template.id, PARAMETERS);
    const delivered = await deal.delivered();
    expect(delivered.stage).toBe('delivered');
    const terms: SignedTerms = await test.temporal.workflow.getHandle(deal.dealId).query(dealTermsQuery);
    const price = String(terms.body.price);
    const locked = await balances(buyer.id, seller.id);
    expect(locked[buyer.id]).toBe(before[buyer.id]! - BigInt(price));

    const escrow = dealEscrowId(deal.dealId, termsNonceOf(terms));
    const refund = { dealId: escrow, buyerId: buyer.id, amount: price, terms };
    // What a compliance vote for this deal's dispute is signed over (the dispute has not started).
    const scope = {
      workflowId: disputeWorkflowId(deal.dealId),
      runId: 'any-run',
      subject: delivered.scope!.subject,
    };
    const refundVote = (signer: string, principal = signer) =>
      signedBy(test, signer, scope, 'dispute_outcome', { outcome: { kind: 'refund' } }, { principal });

    expect(await moneyBack({ action: 'refundEscrow', input: refund })).toMatch(
      /^RefundUnsigned: settlement recorded the delivery .*0 of the 2/,
    );
    // One genuine vote, and a second the buyer signs in another compliance principal's name.
    expect(
      await moneyBack({
        action: 'refundEscrow',
        input: { ...refund, votes: [refundVote('compliance-1'), refundVote(buyer.id, 'compliance-2')] },
      }),
    ).toMatch(/^RefundUnsigned: .*1 of the 2.*not signed by its registered key/);

    const split = {
      dealId: escrow,
      splitId: disputeEscrowId(deal.dealId, termsNonceOf(terms)),
      sellerId: seller.id,
      buyerId: buyer.id,
      amount: price,
      sellerAmount: '0',
      feeBps: Number(terms.body.feeBps),
      terms,
    };
    expect(await moneyBack({ action: 'splitEscrow', input: split })).toMatch(
      /^SplitUnsigned: no compliance vote/,
    );
    // Two genuine refund votes do not split: the votes decide an outcome, and this is another.
    expect(
      await moneyBack({
        action: 'splitEscrow',
        input: { ...split, votes: [refundVote('compliance-1'), refundVote('compliance-2')] },
      }),
    ).toMatch(/^SplitUnsigned: no compliance vote for a split/);
    expect(await balances(buyer.id, seller.id)).toEqual(locked);

    // The legitimate path: a dispute, two compliance principals approve the refund, the buyer is refunded.
    await openDispute(buyer.client, deal.dealId, 'the table is empty');
    await waitFor(
      () =>
        party(test, 'compliance-1')
          .client.get<{ stage: string }>(`/deals/${deal.dealId}/dispute`)
          .catch(() => undefined),
      (s) => s?.stage === 'open',
    );
    await approveOutcome(party(test, 'compliance-1').client, deal.dealId, { kind: 'refund' });
    await approveOutcome(party(test, 'compliance-2').client, deal.dealId, { kind: 'refund' });
    const final: DealStatus = await test.temporal.workflow.getHandle(deal.dealId).result();
    expect(final).toMatchObject({ stage: 'refunded', dispute: { resolvedBy: 'approvals' } });
    expect(final.attention).toBeUndefined();
    expect(await balances(buyer.id, seller.id)).toEqual(before);
  });

  it("a grant's remainder is not returned to the sponsor before a signed deadline has passed", async () => {
    const sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    const grantId = `early-remainder-${crypto.randomUUID()}`;
    grants.push(grantId);
    const deadline = Date.now() + 600_000;
    const milestone = {
      milestoneId: 'report',
      name: 'report',
      amount: '700',
      check: { kind: 'sponsor_approval' as const },
    };
    const terms = sponsor.client.signTerms('grant', {
      grantId,
      granteeId: lab.id,
      milestones: [{ ...milestone, deadline: new Date(deadline).toISOString() }],
    });
    const before = await balances(sponsor.id, lab.id);
    const handle = await test.temporal.workflow.start(milestoneGrant, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: grantWorkflowId(grantId),
      args: [
        {
          grantId,
          sponsorId: sponsor.id,
          granteeId: lab.id,
          feeBps: Number(terms.body.feeBps),
          milestones: [{ ...milestone, deadline }],
          terms,
        },
      ],
    });
    await waitFor(
      () => handle.query(grantStatusQuery),
      (s: GrantStatus) => s.stage === 'active',
    );
    const locked = await balances(sponsor.id, lab.id);
    expect(locked[sponsor.id]).toBe(before[sponsor.id]! - 700n);

    const remainder = { dealId: grantEscrowId(grantId, termsNonceOf(terms)), funderId: sponsor.id, terms };
    expect(await moneyBack({ action: 'refundRemainder', input: remainder })).toMatch(
      /^RemainderNotDue: no unpaid milestone .* is past the deadline the sponsor signed/,
    );
    expect(await balances(sponsor.id, lab.id)).toEqual(locked);
  });
});
