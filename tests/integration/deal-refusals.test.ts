import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../lib/canonical-json';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';
import type { CohortQueryDealInput } from '../../workflows/deal/state';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { templatePath } from '../../query-policies/template-files';
import {
  budgetOf,
  DEFAULT_DATASET_BUDGETS,
  RESEARCH_IN_US,
  startDealBehindTheApi,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { slowTemplate } from './slow-template';
import { QUERY_FAILED_MESSAGE } from '../../activities/perimeter/sandboxed-run';

describe('the perimeter refuses what its seller did not approve, before any money moves', () => {
  let test: TestDeployment;
  let good: QueryTemplate;
  let slow: QueryTemplate;

  beforeAll(async () => {
    test = await startTestDeployment(
      'refusals',
      async (seller) => {
        good = await seller.publishDemoTemplate();
        slow = await seller.publish(slowTemplate(good));
        // Signed by someone who is not the seller.
        await seller.publish({ ...good, id: 'foreign-signed' }, generateEd25519KeyPair().privateKeyPem);
        // Signed by the seller, then weakened on disk: k lowered to 2.
        const signed = await seller.publish({ ...good, id: 'weakened-after-signing' });
        await writeFile(
          templatePath(seller.directory, signed.id),
          JSON.stringify({ ...signed, minCohortSize: 2 }),
        );
      },
      { queryTimeoutMs: 1500 },
    );
  });
  afterAll(() => test?.close());

  const balance = () => test.deployment.ledger.balanceOf('demo-buyer');
  const spent = () => budgetOf(test.deployment.buyer.client, test.seller.id);
  const refusedUpFront = (status: { stage: string; timeline: { stage: string }[] }) => {
    expect(status.stage).toBe('failed');
    expect(status.timeline.map((t) => t.stage)).toEqual(['quoted', 'failed']);
  };

  it('a tampered template hash', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: canonicalHash({ ...good, minCohortSize: 2 }),
    });
    refusedUpFront(status);
    expect(status.problem?.code).toBe('TemplateHashMismatch');
    expect(status.result).toBeUndefined();
    expect(await balance()).toBe(5000n);
  });

  it('a template signed by another key', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: 'foreign-signed',
      templateHash: templateHash({ ...good, id: 'foreign-signed' }),
    });
    refusedUpFront(status);
    expect(status.problem).toMatchObject({
      code: 'TemplateSignatureInvalid',
      reason: expect.stringMatching(/does not verify with seller/),
    });
  });

  it('a template changed after signing, even with the new hash pinned', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: 'weakened-after-signing',
      templateHash: templateHash({ ...good, id: 'weakened-after-signing', minCohortSize: 2 }),
    });
    refusedUpFront(status);
    expect(status.problem).toMatchObject({
      code: 'TemplateSignatureInvalid',
      reason: expect.stringMatching(/changed after signing/),
    });
  });

  it('parameters out of bounds, and a use the template does not allow', async () => {
    const outOfBounds = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: templateHash(good),
      parameters: { min_age: 0, max_age: 500, sex: 'F' },
    });
    expect(outOfBounds.problem?.code).toBe('InvalidParameters');
    const marketing = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: templateHash(good),
      compliance: {
        jurisdiction: 'US',
        purpose: 'marketing',
        acceptedDataClasses: ['health', 'deidentified'],
      },
    });
    refusedUpFront(marketing);
    expect(marketing.problem).toMatchObject({
      code: 'ComplianceRefused',
      reason: 'purpose marketing is not allowed (allowed: research, public-health)',
    });
    expect(await balance()).toBe(5000n);
  });

  it('a buyer who cannot pay: the privacy reservation is given back', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: templateHash(good),
      price: '5001',
    });
    expect(status).toMatchObject({ stage: 'failed', problem: { code: 'InsufficientFunds' } });
    expect(status.timeline.map((t) => t.stage)).toEqual(['quoted', 'budget_reserved', 'failed']);
    expect((await spent()).buyer!.spent.epsilon).toBe(0);
  });

  it('a query that runs out of time: escrow refunded, privacy cost charged (an error is an answer too)', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: slow.id,
      templateHash: templateHash(slow),
      parameters: { repeat: 1000, min_age: 0 },
    });
    // One uniform refusal for any failure after the reservation: its cause (here the timeout) is not said.
    expect(status).toMatchObject({
      stage: 'refunded',
      problem: { code: 'QueryFailedAfterReservation', reason: QUERY_FAILED_MESSAGE },
    });
    expect(status.timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'budget_reserved',
      'escrow_locked',
      'query_running',
      'refunded',
    ]);
    expect(await balance()).toBe(5000n);
    // Whether a query fails can depend on the data: once it ran, its reservation is committed.
    expect((await spent()).buyer!.spent.epsilon).toBe(slow.privacy.epsilon);
    expect((await spent()).total.spent.epsilon).toBe(slow.privacy.epsilon);
  });

  describe('terms the buyer did not sign, started straight on Temporal', () => {
    const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
    /** The demo buyer's budget (charged to its verified key) and all buyers' together, as the API shows them. */
    const figures = async () => {
      const view = await spent();
      return { buyer: view.buyer!.spent.epsilon, total: view.total.spent.epsilon };
    };
    /** The terms the demo buyer signs for this deal, as POST /deals would carry them. */
    const buyerSigned = (dealId: string, parameters = PARAMETERS) =>
      test.deployment.buyer.client.signTerms('cohort_query', {
        dealId,
        templateId: good.id,
        sellerId: test.seller.id,
        templateHash: templateHash(good),
        parameters,
        price: '1000',
        buyerPublicKey: test.deployment.buyer.resultPublicKey,
        compliance: RESEARCH_IN_US,
        // The window these deals run with (1 s): the deal's timer and settlement follow the signed one.
        acceptanceWindowSeconds: 1,
      });

    async function refusedWithoutBudget(
      dealId: string,
      input: Partial<CohortQueryDealInput>,
      code: string,
    ): Promise<void> {
      const before = await figures();
      const status = await startDealBehindTheApi(test, {
        dealId,
        templateId: good.id,
        templateHash: templateHash(good),
        ...input,
      });
      refusedUpFront(status);
      expect(status.problem?.code).toBe(code);
      expect(status.result).toBeUndefined();
      // Nothing reserved or charged, to the buyer's key or to anyone else.
      expect(await figures()).toEqual(before);
      expect(await balance()).toBe(5000n);
    }

    it("made-up terms: a signature nobody made, or an operator key signing in the buyer's name", async () => {
      const made = `forged-${crypto.randomUUID()}`;
      await refusedWithoutBudget(
        made,
        { terms: { ...buyerSigned(made), signature: 'A'.repeat(86) } },
        'TermsSignatureInvalid',
      );
      const operatorKey = generateEd25519KeyPair();
      const renamed = `renamed-${crypto.randomUUID()}`;
      const byOperator = signTerms(
        'cohort_query',
        'demo-buyer',
        buyerSigned(renamed).body,
        operatorKey.privateKeyPem,
      );
      await refusedWithoutBudget(
        renamed,
        { terms: { ...byOperator, publicKey: test.deployment.buyer.client.publicKey } },
        'TermsSignatureInvalid',
      );
    });

    it("altered parameters under the buyer's valid signature", async () => {
      const wider = { min_age: 18, max_age: 90, sex: 'F' };
      const inTerms = `altered-${crypto.randomUUID()}`;
      const signed = buyerSigned(inTerms);
      await refusedWithoutBudget(
        inTerms,
        { parameters: wider, terms: { ...signed, body: { ...signed.body, parameters: wider } } },
        'TermsSignatureInvalid',
      );
      const beside = `beside-${crypto.randomUUID()}`;
      await refusedWithoutBudget(beside, { parameters: wider, terms: buyerSigned(beside) }, 'TermsMismatch');
    });

    it("the same signed terms, unaltered, are answered and charged to the buyer's key", async () => {
      const dealId = `signed-${crypto.randomUUID()}`;
      const before = await figures();
      const status = await startDealBehindTheApi(test, {
        dealId,
        templateId: good.id,
        templateHash: templateHash(good),
        acceptanceTimeoutMs: 1_000,
        terms: buyerSigned(dealId),
      });
      expect(status.problem).toBeUndefined();
      expect(status.result?.epsilonSpent).toBeGreaterThan(0);
      // The perimeter charged the key that signed: the buyer's own budget moved with the total.
      const after = await figures();
      expect(after.buyer - before.buyer).toBe(status.result!.epsilonSpent);
      expect(after.total - before.total).toBe(status.result!.epsilonSpent);
    });
  });

  it('the catalog offers neither tampered template to buyers', async () => {
    const { templates } = await test.deployment.buyer.client.get<{ templates: { id: string }[] }>(
      '/templates',
    );
    expect(templates.map((t) => t.id).sort()).toEqual([good.id, slow.id].sort());
  });

  it('budgets come only from the signed dataset policy: without an entry, or with a forged policy, nothing is reserved', async () => {
    const deal = () => startDealBehindTheApi(test, { templateId: good.id, templateHash: templateHash(good) });
    const funds = await balance();
    await test.seller.publishDatasetPolicy({ other_dataset: DEFAULT_DATASET_BUDGETS.patients! });
    const unlisted = await deal();
    refusedUpFront(unlisted);
    expect(unlisted.problem).toEqual({
      code: 'DatasetPolicyMissing',
      reason: `seller ${test.seller.id}'s signed dataset policy sets no budget for patients`,
    });
    await expect(spent()).rejects.toMatchObject({ status: 404, code: 'not_found' });

    // A generous policy signed by anyone but the seller is not the seller's.
    await test.seller.publishDatasetPolicy(DEFAULT_DATASET_BUDGETS, generateEd25519KeyPair().privateKeyPem);
    const forged = await deal();
    refusedUpFront(forged);
    expect(forged.problem).toMatchObject({
      code: 'DatasetPolicyMissing',
      reason: expect.stringMatching(/is not approved: the signature does not verify with seller/),
    });
    expect(await balance()).toBe(funds);
    await test.seller.publishDatasetPolicy();
  });
});
