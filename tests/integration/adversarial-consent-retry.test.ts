import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dealEscrowId, grantEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { signDecision, type DecisionScope } from '../../lib/signed-decision';
import type { SignedTerms } from '../../lib/signed-terms';
import { consentToRemainder, extendMilestone } from '../../lib/signed-actions';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import type { QueryTemplate } from '../../query-policies/template';
import { dealTermsQuery } from '../../workflows/deal-terms';
import type { GrantStatus } from '../../workflows/grant/state';
import { consentRemainderUpdate, grantStatusQuery, milestoneGrant } from '../../workflows/grant/workflow';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { type MoneyBackRequest } from '../fixtures/operator-refund-workflow';
import { buyDeal, startTestDeployment, type TestDeployment } from './harness';
import { startSignedGrant } from './operator-grant';
import { ledgerBalances, startOperatorWorker, type OperatorWorker } from './operator-worker';
import {
  LIFECYCLE_PARTIES,
  party,
  signedBy,
  terminateRunning,
  updateRefusal,
  waitFor,
} from './lifecycle-harness';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const OPERATOR_QUEUE = 'operator-consent-retry';

/**
 * A consent speaks to settlement directly and expires; a transfer that failed after settlement
 * accepted it is retried later. And a grantee may give a grant's remainder back early, by its own
 * signature only. Attacked as the operator: settlement is asked straight from a workflow of its own.
 */
describe('consents to give money back: retried after expiry, and the grantee giving a remainder back', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorWorker: OperatorWorker | undefined;
  const running: string[] = [];

  const balances = (...accounts: string[]) => ledgerBalances(test, ...accounts);
  const moneyBack = (request: MoneyBackRequest) => operatorWorker!.moneyBack(request);

  beforeAll(async () => {
    test = await startTestDeployment(
      'consent-retry',
      async (s) => {
        template = await s.publishDemoTemplate();
      },
      { parties: LIFECYCLE_PARTIES, acceptanceTimeoutMs: 300_000 },
    );
    operatorWorker = await startOperatorWorker(test, OPERATOR_QUEUE);
  });
  afterAll(async () => {
    await operatorWorker?.close();
    if (test) await terminateRunning(test.temporal, running);
    await test?.close();
  });

  /** A delivered deal, its signed terms and escrow. */
  async function deliveredDeal() {
    const deal = await buyDeal(test.deployment, template.id, PARAMETERS);
    running.push(deal.dealId);
    const delivered = await deal.delivered();
    expect(delivered.stage).toBe('delivered');
    const terms: SignedTerms = await test.temporal.workflow.getHandle(deal.dealId).query(dealTermsQuery);
    const escrow = dealEscrowId(deal.dealId, termsNonceOf(terms));
    const scope: DecisionScope = { workflowId: deal.dealId, runId: 'any', subject: delivered.scope!.subject };
    return { dealId: deal.dealId, terms, escrow, scope };
  }
  const sellerConsent = (scope: DecisionScope, escrowId: string, notAfter: number) =>
    signDecision(test.seller.keys.privateKeyPem, {
      ...scope,
      action: 'refund_consent',
      principal: test.seller.id,
      content: { escrowId },
      notAfter,
    });

  it("a refund on the seller's consent, retried after the consent expired, is carried out for that escrow only", async () => {
    const { buyer } = test.deployment;
    const before = await balances(buyer.id);
    const first = await deliveredDeal();
    const second = await deliveredDeal();
    const price = String(first.terms.body.price);
    const refundOf = (deal: typeof first, consent: ReturnType<typeof sellerConsent>) => ({
      action: 'refundEscrow' as const,
      input: { dealId: deal.escrow, buyerId: buyer.id, amount: price, terms: deal.terms, consent },
    });

    const consent = sellerConsent(first.scope, first.escrow, Date.now() + 4_000);
    expect(await moneyBack(refundOf(first, consent))).toBe('moved');
    const refunded = await balances(buyer.id);
    expect(refunded[buyer.id]).toBe(before[buyer.id]! - BigInt(price));
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, consent.statement.notAfter - Date.now() + 500)),
    );
    // The same settlement asked again after the consent's expiry (a retry of a transfer that failed after
    // settlement accepted the consent): carried out, and the money moves no second time.
    expect(await moneyBack(refundOf(first, consent))).toBe('moved');
    expect(await balances(buyer.id)).toEqual(refunded);

    // The operator replays that consent on another delivered deal's escrow: refused, nothing moves.
    expect(await moneyBack(refundOf(second, consent))).toMatch(/^RefundUnsigned: .*signed about/);
    // A consent of the other escrow's own that expired before settlement ever accepted it: refused.
    const lapsed = sellerConsent(second.scope, second.escrow, Date.now() - 1);
    expect(await moneyBack(refundOf(second, lapsed))).toMatch(/^RefundUnsigned: .*expired/);
    expect(await balances(buyer.id)).toEqual(refunded);
  });

  it("a grant's remainder goes back before its deadline on the grantee's signature, and on nothing else", async () => {
    const sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    const grantOf = async () => {
      const grantId = `given-back-${crypto.randomUUID()}`;
      running.push(grantWorkflowId(grantId));
      const deadline = Date.now() + 600_000;
      const milestone = { milestoneId: 'report', name: 'report', amount: '700' };
      const check = { kind: 'sponsor_approval' as const };
      const terms = sponsor.client.signTerms('grant', {
        grantId,
        granteeId: lab.id,
        milestones: [{ ...milestone, check, deadline: new Date(deadline).toISOString() }],
      });
      const handle = await test.temporal.workflow.start(milestoneGrant, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: grantWorkflowId(grantId),
        args: [
          {
            grantId,
            sponsorId: sponsor.id,
            granteeId: lab.id,
            feeBps: Number(terms.body.feeBps),
            milestones: [{ ...milestone, check, deadline }],
            terms,
          },
        ],
      });
      const active = await waitFor(
        () => handle.query(grantStatusQuery),
        (s: GrantStatus) => s.stage === 'active',
      );
      const escrow = grantEscrowId(grantId, termsNonceOf(terms));
      return { grantId, terms, handle, scope: active.scope!, escrow };
    };
    const before = await balances(sponsor.id, lab.id);
    const grant = await grantOf();
    const other = await grantOf();
    const locked = await balances(sponsor.id, lab.id);
    expect(locked[sponsor.id]).toBe(before[sponsor.id]! - 1400n);

    const consent = (signer: string, scope: DecisionScope, amount = '700') =>
      signedBy(test, signer, scope, 'remainder_consent', { amount }, { principal: lab.id });
    const remainder = (consentGiven: ReturnType<typeof consent>) =>
      moneyBack({
        action: 'refundRemainder',
        input: { dealId: grant.escrow, funderId: sponsor.id, terms: grant.terms, consent: consentGiven },
      });
    // The sponsor signing in the grantee's name; the grantee's consent to another amount, or of another grant.
    expect(await remainder(consent(sponsor.id, grant.scope))).toMatch(
      /^RemainderNotDue: the grantee's consent is refused: it is not signed by lab's registered key/,
    );
    expect(await remainder(consent(lab.id, grant.scope, '1'))).toMatch(/^RemainderNotDue: .*signed over/);
    expect(await remainder(consent(lab.id, other.scope))).toMatch(/^RemainderNotDue: .*signed about/);
    // The same forgery sent to the grant workflow straight on Temporal: refused by the grant itself.
    expect(
      await updateRefusal(
        grant.handle.executeUpdate(consentRemainderUpdate, {
          args: [{ signed: consent(sponsor.id, grant.scope) }],
        }),
      ),
    ).toMatch(/sign|key/i);
    expect(await balances(sponsor.id, lab.id)).toEqual(locked);
    expect((await grant.handle.query(grantStatusQuery)).stage).toBe('active');

    // The grantee gives it back through the API: the grant ends and the sponsor has its 700 back.
    await consentToRemainder(lab.client, grant.grantId);
    const ended: GrantStatus = await grant.handle.result();
    expect(ended).toMatchObject({ stage: 'ended', refunded: '700' });
    expect(ended.milestones[0]!.stage).toBe('void');
    const after = await balances(sponsor.id, lab.id);
    expect(after[sponsor.id]).toBe(locked[sponsor.id]! + 700n);
    expect(after[lab.id]).toBe(locked[lab.id]);
  });

  it("a grant's remainder waits for the deadline the sponsor extended, shown to settlement or left out by the operator", async () => {
    const sponsor = party(test, 'sponsor');
    const lab = party(test, 'lab');
    const grantId = `extended-${crypto.randomUUID()}`;
    running.push(grantWorkflowId(grantId));
    const signedDeadline = Date.now() + 8_000;
    const { terms, handle, active } = await startSignedGrant(test, {
      grantId,
      sponsorId: sponsor.id,
      granteeId: lab.id,
      deadline: signedDeadline,
      amount: '500',
    });
    const extendedTo = signedDeadline + 20_000;
    await extendMilestone(sponsor.client, grantId, 'report', new Date(extendedTo).toISOString());
    const locked = await balances(sponsor.id, lab.id);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, signedDeadline - Date.now() + 500)));

    // Past the terms' deadline, not the extended one: the operator asks with the sponsor's extension.
    const extension = signedBy(test, sponsor.id, active.scope!, 'deadline_extension', {
      milestoneId: 'report',
      deadline: extendedTo,
    });
    const remainder = { dealId: grantEscrowId(grantId, termsNonceOf(terms)), funderId: sponsor.id, terms };
    expect(
      await moneyBack({ action: 'refundRemainder', input: { ...remainder, extensions: [extension] } }),
    ).toMatch(/^RemainderNotDue: no unpaid milestone/);
    // An "extension" the grantee signs in the sponsor's name is refused, not taken as an earlier deadline.
    const forged = signedBy(
      test,
      lab.id,
      active.scope!,
      'deadline_extension',
      { milestoneId: 'report', deadline: extendedTo },
      { principal: sponsor.id },
    );
    expect(
      await moneyBack({ action: 'refundRemainder', input: { ...remainder, extensions: [forged] } }),
    ).toMatch(
      /^RemainderNotDue: a deadline extension .* refused: it is not signed by sponsor's registered key/,
    );
    // The operator leaves the sponsor's extension out: settlement reads it from the log all the same.
    expect(await moneyBack({ action: 'refundRemainder', input: remainder })).toMatch(
      /^RemainderNotDue: no unpaid milestone/,
    );
    expect(await balances(sponsor.id, lab.id)).toEqual(locked);
    expect((await handle.query(grantStatusQuery)).stage).toBe('active');

    // The grant itself waits for the extended deadline and shows settlement the extension: then it is returned.
    const ended: GrantStatus = await handle.result();
    expect(ended).toMatchObject({ stage: 'ended', refunded: '500' });
    expect(Date.now()).toBeGreaterThanOrEqual(extendedTo);
    expect((await balances(sponsor.id))[sponsor.id]).toBe(locked[sponsor.id]! + 500n);
  });
});
