import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../lib/canonical-json';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { templatePath } from '../../query-policies/template-files';
import {
  budgetOf,
  DEFAULT_DATASET_BUDGETS,
  startDealBehindTheApi,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { slowTemplate } from './slow-template';

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

  it('a query that runs out of time: escrow refunded and budget given back (saga)', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: slow.id,
      templateHash: templateHash(slow),
      parameters: { repeat: 1000, min_age: 0 },
    });
    expect(status).toMatchObject({ stage: 'refunded', problem: { code: 'QueryTimeout' } });
    expect(status.timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'budget_reserved',
      'escrow_locked',
      'query_running',
      'refunded',
    ]);
    expect(await balance()).toBe(5000n);
    expect((await spent()).buyer!.spent.epsilon).toBe(0);
    expect((await spent()).total.spent.epsilon).toBe(0);
  });

  it('the catalog offers neither tampered template to buyers', async () => {
    const { templates } = await test.deployment.buyer.client.get<{ templates: { id: string }[] }>(
      '/templates',
    );
    expect(templates.map((t) => t.id).sort()).toEqual([good.id, slow.id].sort());
  });

  it('budgets come only from the signed dataset policy: without an entry, or with a forged policy, nothing is reserved', async () => {
    const deal = () => startDealBehindTheApi(test, { templateId: good.id, templateHash: templateHash(good) });
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
    expect(await balance()).toBe(5000n);
    await test.seller.publishDatasetPolicy();
  });
});
