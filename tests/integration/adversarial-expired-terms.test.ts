import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPrivacyEntries } from '../../audit/privacy-entries';
import { parseEscrowId } from '../../lib/ids/escrow-ids';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { CohortQueryDealInput } from '../../workflows/deal/state';
import {
  dealTermsBody,
  RESEARCH_IN_US,
  startDealWorkflow,
  startTestDeployment,
  type TestDeployment,
} from './harness';

/**
 * The operator, holding Temporal and the history codec keys, starts a deal straight on Temporal with
 * the buyer's genuine signature over terms whose `notAfter` has passed: the perimeter computes no
 * fresh answer, reserves and charges no ε, and no money moves.
 */
describe('terms past their signed notAfter, started straight on Temporal', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  const BUYER = 'demo-buyer';

  beforeAll(async () => {
    test = await startTestDeployment('expired-terms', async (seller) => {
      template = await seller.publishDemoTemplate();
    });
  });
  afterAll(() => test?.close());

  const buyerBalance = async () => (await test.deployment.ledger.state()).balances.get(BUYER) ?? 0n;
  const escrowsOf = async (dealId: string) =>
    [...(await test.deployment.ledger.state()).escrows.keys()].filter((escrowId) => {
      const ref = parseEscrowId(escrowId);
      return ref?.kind === 'deal' && ref.dealId === dealId;
    });
  const privacyEntriesOf = async (dealId: string) =>
    (
      await readPrivacyEntries(
        join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite'),
        test.seller.directory,
        [dealId],
      )
    ).entries.filter((entry) => entry.dealId === dealId);
  /** The buyer's own signature over exactly the deal the workflow is started with, expiring at `notAfter`. */
  function run(dealId: string, notAfter: number) {
    const deal: Omit<CohortQueryDealInput, 'terms' | 'buyerKeyRef'> = {
      dealId,
      buyerId: BUYER,
      sellerId: test.seller.id,
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: { min_age: 30, max_age: 50, sex: 'F' },
      price: '1000',
      feeBps: 250,
      compliance: RESEARCH_IN_US,
      acceptanceTimeoutMs: 1_000,
    };
    const { buyer } = test.deployment;
    const terms = buyer.client.signTerms('cohort_query', {
      ...dealTermsBody({ ...deal, buyerKeyRef: '' }, buyer),
      notAfter: new Date(notAfter).toISOString(),
    });
    return startDealWorkflow(test, { ...deal, terms }).then((handle) => handle.result());
  }

  it('expired genuine terms: refused as TermsExpired, nothing reserved, charged, locked or answered', async () => {
    const balance = await buyerBalance();
    const dealId = `expired-${crypto.randomUUID()}`;
    const status = await run(dealId, Date.now() - 1_000);
    expect(status.stage).toBe('failed');
    expect(status.problem).toMatchObject({ code: 'TermsExpired' });
    expect(status.result).toBeUndefined();
    expect(await privacyEntriesOf(dealId)).toEqual([]);
    expect(await escrowsOf(dealId)).toEqual([]);
    expect(await buyerBalance()).toBe(balance);
  });

  it('the same deal signed with time left is answered and charged', async () => {
    const balance = await buyerBalance();
    const dealId = `in-time-${crypto.randomUUID()}`;
    const status = await run(dealId, Date.now() + 600_000);
    expect(status.stage).toBe('settled');
    expect(status.result?.resultRef).toBeDefined();
    expect((await privacyEntriesOf(dealId)).map((entry) => entry.state)).toEqual(['committed']);
    expect(await buyerBalance()).toBe(balance - 1000n);
  });

  it('a deal whose input has not the shape the API sends fails at once as InvalidInput, before anything moves', async () => {
    const balance = await buyerBalance();
    const dealId = `malformed-${crypto.randomUUID()}`;
    const handle = await startDealWorkflow(test, {
      dealId,
      templateId: template.id,
      templateHash: templateHash(template),
      // A price as a number and a fee as text: what no API request can produce.
      price: 1000 as unknown as string,
      feeBps: '250' as unknown as number,
    });
    const failure = await handle.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidInput');
    expect((cause as ApplicationFailure).message).toMatch(/price/);
    expect((cause as ApplicationFailure).message).toMatch(/feeBps/);
    expect(await privacyEntriesOf(dealId)).toEqual([]);
    expect(await escrowsOf(dealId)).toEqual([]);
    expect(await buyerBalance()).toBe(balance);
  });
});
