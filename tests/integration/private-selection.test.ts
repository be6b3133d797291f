import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDealResult, waitForStage } from '../../cli/buyer/commands';
import { createHeKeys, readHeSecret } from '../../cli/buyer/he-keys';
import { BlobStore } from '../../lib/blob-store';
import { HeKeyError } from '../../lib/he/ciphertexts';
import { decodeEnvelope } from '../../lib/he/he-result';
import { encryptSelections, openSelections } from '../../sdk/he-selection';
import type { HeSecretKeyFile } from '../../lib/he/buyer-keys';
import type { QueryTemplate } from '../../query-policies/template';
import type { DealStatus } from '../../workflows/deal/state';
import { buyDeal, isFinished, RESEARCH_IN_US, startTestDeployment, type TestDeployment } from './harness';

const PARAMETERS = { min_age: 20, max_age: 70, sex: 'M' };

describe('a private selection deal', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let keyHome: string;
  let secret: HeSecretKeyFile;

  beforeAll(async () => {
    test = await startTestDeployment('selection', async (seller) => {
      template = await seller.publishDemoTemplate();
    });
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-keys-'));
    await createHeKeys(test.deployment.buyer.client, keyHome, test.deployment.buyer.id);
    secret = await readHeSecret(keyHome, test.deployment.buyer.id);
  });
  afterAll(async () => {
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  async function buySelection(groups: string[][], price = String(1000 * groups.length)) {
    const { client } = test.deployment.buyer;
    const selectionRefs = await Promise.all(
      (await encryptSelections(secret, template, groups)).map((bytes) => client.putBlob(bytes)),
    );
    const { templates } = await client.get<{ templates: { id: string; seller: string; hash: string }[] }>(
      '/templates',
    );
    const dealId = `selection-${crypto.randomUUID()}`;
    const body = {
      dealId,
      templateId: template.id,
      sellerId: template.seller,
      templateHash: templates.find((t) => t.id === template.id)!.hash,
      parameters: PARAMETERS,
      price,
      buyerPublicKey: test.deployment.buyer.resultPublicKey,
      compliance: RESEARCH_IN_US,
      privateSelection: { heKeyRef: secret.keyRef, selectionRefs },
    };
    const response = await client.request<DealStatus>('POST', '/deals', client.signed('cohort_query', body));
    return { dealId, body, response };
  }

  it('returns exactly the chosen groups of the released table, and charges the budget once', async () => {
    // The plain answer first: the released (noisy) table the selection must agree with.
    const plain = await buyDeal(test.deployment, template.id, PARAMETERS);
    const delivered = await plain.delivered();
    expect(delivered.stage).toBe('delivered');
    const table = await openDealResult(
      test.deployment.buyer.client,
      test.deployment.buyer.resultKeyPem,
      plain.dealId,
    );
    // Two groups that show numbers, and one whose numbers are withheld (its noisy count under k).
    const released = table.rows.filter((row) => row[2] !== null).slice(0, 2);
    expect(released.length).toBe(2);
    const withheldRow = table.rows.find((row) => row[2] === null)!;
    const withheld = [String(withheldRow[0]), String(withheldRow[1])];
    const chosen = [...released.map((row) => [String(row[0]), String(row[1])]), withheld];

    const { dealId, response } = await buySelection(chosen);
    expect(response.status).toBe(201);
    const status = await waitDelivered(dealId);
    expect(status.problem).toBeUndefined();
    expect(status.stage).toBe('delivered');
    // Same query, same buyer: the stored release answers it, so no second epsilon is spent.
    expect(status.result).toMatchObject({ repeat: true, epsilonSpent: 0 });

    const envelope = decodeEnvelope(
      await new BlobStore(join(test.home, 'blobs')).get(status.result!.resultRef),
    );
    const answers = await openSelections(secret, template, envelope);
    const column = (name: string) => table.columns.indexOf(name);
    expect(answers).toEqual([
      ...released.map((row) => ({
        patients: BigInt(row[column('patients')] as number),
        total_cost: BigInt(row[column('total_cost')] as number),
      })),
      { patients: 0n, total_cost: 0n },
    ]);
  });

  it("opens only with the buyer's own secret key", async () => {
    const { dealId } = await buySelection([['100', 'I10']]);
    const status = await waitDelivered(dealId);
    const envelope = decodeEnvelope(
      await new BlobStore(join(test.home, 'blobs')).get(status.result!.resultRef),
    );
    const otherHome = await mkdtemp(join(tmpdir(), 'tusk-he-other-'));
    try {
      await createHeKeys(test.deployment.buyer.client, otherHome, test.deployment.buyer.id);
      const other = await readHeSecret(otherHome, test.deployment.buyer.id);
      await expect(openSelections(other, template, envelope)).rejects.toThrow(HeKeyError);
      // Even a forged key reference does not make another key decrypt it.
      await expect(openSelections({ ...other, keyRef: secret.keyRef }, template, envelope)).rejects.toThrow(
        /does not decrypt with this secret key/,
      );
    } finally {
      await rm(otherHome, { recursive: true, force: true });
    }
  });

  it('prices selections one by one, and refuses unknown blobs', async () => {
    const wrongPrice = await buySelection(
      [
        ['100', 'I10'],
        ['101', 'I10'],
      ],
      '1000',
    ).catch((error: unknown) => error);
    expect(wrongPrice).toMatchObject({ status: 422, code: 'price_mismatch' });
    const { client } = test.deployment.buyer;
    const missing = `sha256:${'0'.repeat(64)}`;
    const refused = await client
      .post(
        '/deals',
        client.signed('cohort_query', {
          ...(await buySelectionBody()),
          privateSelection: { heKeyRef: secret.keyRef, selectionRefs: [missing] },
        }),
      )
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 422, code: 'unknown_blob' });
  });

  async function buySelectionBody() {
    const { templates } = await test.deployment.buyer.client.get<{
      templates: { id: string; hash: string }[];
    }>('/templates');
    return {
      dealId: `selection-${crypto.randomUUID()}`,
      templateId: template.id,
      sellerId: template.seller,
      templateHash: templates.find((t) => t.id === template.id)!.hash,
      parameters: PARAMETERS,
      price: '1000',
      buyerPublicKey: test.deployment.buyer.resultPublicKey,
      compliance: RESEARCH_IN_US,
    };
  }

  async function waitDelivered(dealId: string): Promise<DealStatus> {
    return waitForStage(test.deployment.buyer.client, dealId, isFinished, 120_000);
  }
});
