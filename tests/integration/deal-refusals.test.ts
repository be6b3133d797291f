import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { canonicalHash } from '../../lib/canonical-json';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { templatePath } from '../../query-policies/template-files';
import { writeFile } from 'node:fs/promises';
import { startDealBehindTheApi, startTestDeployment, type TestDeployment } from './harness';

describe('the perimeter refuses what its seller did not sign, and the buyer is refunded', () => {
  let test: TestDeployment;
  let good: QueryTemplate;

  beforeAll(async () => {
    test = await startTestDeployment('refusals', async (seller) => {
      good = await seller.publishDemoTemplate();
      // Signed by someone who is not the seller.
      await seller.publish({ ...good, id: 'foreign-signed' }, generateEd25519KeyPair().privateKeyPem);
      // Signed by the seller, then weakened on disk: k lowered to 2.
      const signed = await seller.publish({ ...good, id: 'weakened-after-signing' });
      await writeFile(
        templatePath(seller.directory, signed.id),
        JSON.stringify({ ...signed, minCohortSize: 2 }),
      );
    });
  });
  afterAll(() => test?.close());

  const balance = () => test.deployment.ledger.balanceOf('demo-buyer');

  it('a tampered template hash: refused, escrow refunded', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: canonicalHash({ ...good, minCohortSize: 2 }),
    });
    expect(status.stage).toBe('refunded');
    expect(status.problem?.code).toBe('TemplateHashMismatch');
    expect(status.result).toBeUndefined();
    expect(status.timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'escrow_locked',
      'query_running',
      'refunded',
    ]);
    expect(await balance()).toBe(5000n);
  });

  it('a template signed by another key: refused, escrow refunded', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: 'foreign-signed',
      templateHash: templateHash({ ...good, id: 'foreign-signed' }),
    });
    expect(status).toMatchObject({ stage: 'refunded', problem: { code: 'TemplateSignatureInvalid' } });
    expect(status.problem?.reason).toMatch(/does not verify with seller/);
    expect(await balance()).toBe(5000n);
  });

  it('a template changed after signing: refused even with the new hash pinned', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: 'weakened-after-signing',
      templateHash: templateHash({ ...good, id: 'weakened-after-signing', minCohortSize: 2 }),
    });
    expect(status).toMatchObject({ stage: 'refunded', problem: { code: 'TemplateSignatureInvalid' } });
    expect(status.problem?.reason).toMatch(/changed after signing/);
    expect(await balance()).toBe(5000n);
  });

  it('parameters out of bounds: refused inside the perimeter too', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: templateHash(good),
      parameters: { min_age: 0, max_age: 500, sex: 'F' },
    });
    expect(status).toMatchObject({ stage: 'refunded', problem: { code: 'InvalidParameters' } });
    expect(await balance()).toBe(5000n);
  });

  it('a buyer who cannot pay: the deal fails before any query runs', async () => {
    const status = await startDealBehindTheApi(test, {
      templateId: good.id,
      templateHash: templateHash(good),
      price: '5001',
    });
    expect(status).toMatchObject({ stage: 'failed', problem: { code: 'InsufficientFunds' } });
    expect(status.timeline.map((t) => t.stage)).toEqual(['quoted', 'failed']);
    expect(await balance()).toBe(5000n);
  });

  it('the catalog offers neither unsigned template to buyers', async () => {
    const { templates } = await test.deployment.buyer.client.get<{ templates: { id: string }[] }>(
      '/templates',
    );
    expect(templates.map((t) => t.id)).toEqual([good.id]);
  });
});
