import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signDecision, type DecisionScope, type SignedDecision } from '../../lib/signed-decision';
import { periodEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { termsHashOf, type SignedTerms } from '../../lib/signed-terms';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';
import { ledgerBalances, startOperatorWorker, type OperatorWorker } from './operator-worker';

const OPERATOR_QUEUE = 'operator-period-consent';
const BUYER = 'demo-buyer';
const PRICE = '1000';
const FEE_BPS = 250;

/**
 * The operator runs Temporal and every workflow worker: it can lock a subscriber's genuinely signed
 * periods itself and ask for one back. A period the perimeter may have delivered goes back only with
 * the seller's own signed consent to refund exactly that period (it bears the loss): not without one,
 * not with its consent to refund another period, not under a key the operator made up.
 */
describe('refunds of a delivered subscription period, asked for on Temporal', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let operatorWorker: OperatorWorker | undefined;

  beforeAll(async () => {
    test = await startTestDeployment('consent', async (seller) => {
      template = await seller.publishDemoTemplate();
    });
    operatorWorker = await startOperatorWorker(test, OPERATOR_QUEUE);
  });
  afterAll(async () => {
    await operatorWorker?.close();
    await test?.close();
  });

  it("a delivered period goes back only with the seller's signed consent to refund that period", async () => {
    const subscriptionId = `sub-consent-${crypto.randomUUID()}`;
    const terms: SignedTerms = test.deployment.buyer.client.signTerms('subscription', {
      subscriptionId,
      queries: [
        {
          templateId: template.id,
          sellerId: test.seller.id,
          templateHash: templateHash(template),
          parameters: { min_age: 30, max_age: 50, sex: 'F' },
        },
      ],
      pricePerPeriod: PRICE,
      periodSeconds: 3600,
      periods: 2,
      feeBps: FEE_BPS,
      resultKeyRef: `sha256:${'0'.repeat(64)}`,
      compliance: RESEARCH_IN_US,
    });
    const [first, second] = [1, 2].map((n) => periodEscrowId(subscriptionId, n, termsNonceOf(terms)));
    const before = await ledgerBalances(test, BUYER);
    for (const escrow of [first!, second!]) {
      const lock = {
        dealId: escrow,
        buyerId: BUYER,
        amount: PRICE,
        terms,
        payeeId: test.seller.id,
        feeBps: FEE_BPS,
      };
      expect(await operatorWorker!.moneyBack({ action: 'lockEscrow', input: lock })).toBe('moved');
    }
    const locked = await ledgerBalances(test, BUYER);
    expect(locked[BUYER]).toBe(before[BUYER]! - 2n * BigInt(PRICE));

    const scope: DecisionScope = {
      workflowId: subscriptionId,
      runId: 'any',
      subject: { id: subscriptionId, termsHash: termsHashOf(terms) },
    };
    const consentTo = (escrowId: string, key = test.seller.keys.privateKeyPem) =>
      signDecision(key, {
        ...scope,
        action: 'refund_consent',
        principal: test.seller.id,
        content: { escrowId },
        notAfter: Date.now() + 600_000,
      });
    const refund = (consent?: SignedDecision) =>
      operatorWorker!.moneyBack({
        action: 'refundEscrow',
        input: { dealId: first!, buyerId: BUYER, amount: PRICE, terms, ...(consent ? { consent } : {}) },
      });
    // No consent, no refusal: the period may have been delivered, so nothing goes back.
    expect(await refund()).toMatch(/^RefundUnproven: /);
    // The seller's genuine consent to refund period 2 does not refund period 1.
    expect(await refund(consentTo(second!))).toMatch(/^RefundUnsigned: .*does not give this escrow back/);
    // A consent in the seller's name under a key the operator made up.
    const forged = consentTo(first!, generateEd25519KeyPair().privateKeyPem);
    expect(await refund(forged)).toMatch(/^RefundUnsigned: .*not signed by/);
    expect(await ledgerBalances(test, BUYER)).toEqual(locked);

    // The seller's consent to refund period 1: refunded, once.
    const consent = consentTo(first!);
    expect(await refund(consent)).toBe('moved');
    const refunded = await ledgerBalances(test, BUYER);
    expect(refunded[BUYER]).toBe(locked[BUYER]! + BigInt(PRICE));
    // Asked again with the same consent: the refund is not made twice.
    await refund(consent);
    expect(await ledgerBalances(test, BUYER)).toEqual(refunded);
  });
});
