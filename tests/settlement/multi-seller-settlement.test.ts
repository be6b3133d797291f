import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shareEscrowId, termsNonceOf } from '../../lib/ids/escrow-ids';
import { confirmDeal } from '../../lib/signed-actions';
import { createHeKeys, readHeSecret } from '../../cli/buyer/he-keys';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { MultiSellerDealStatus } from '../../workflows/multi-seller/shapes';
import { RESEARCH_IN_US, TestSeller, type TestDeployment } from '../integration/harness';
import { balances, moved, TEST_ACCOUNT } from './harness';
import { payInto, sentFor, startAztecLifecycleDeployment, waitFor } from './lifecycle-helpers';

const { buyer, seller, operator } = TEST_ACCOUNT;
const PARAMETERS = { min_age: 25, max_age: 65, sex: 'F' };

describe('a multi-seller deal settled on a real Aztec local network', () => {
  let test: TestDeployment;
  let sellers: TestSeller[] = [];
  const templates = new Map<string, QueryTemplate>();
  let keyHome: string;

  beforeAll(async () => {
    test = await startAztecLifecycleDeployment(
      'aztec-multi',
      () => ({
        // The second seller is paid into the operator's test account: the local network funds three
        // accounts only. Its share and the fees are told apart by amount.
        extraSellers: [
          {
            sellerId: sellers[1]!.id,
            sellerPublicKey: sellers[1]!.keys.publicKey,
            rows: 20_000,
            aztecAccount: operator,
          },
        ],
      }),
      async (first) => {
        sellers = [first, new TestSeller(`${first.id}-b`, first.policiesRoot)];
        for (const s of sellers) {
          templates.set(s.id, await s.publishDemoTemplate());
          await s.publishDatasetPolicy();
        }
      },
    );
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-aztec-'));
  });
  afterAll(async () => {
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  it('the buyer pays each share into its own escrow; each seller is paid its share less the fee', async () => {
    const { client } = test.deployment.buyer;
    await createHeKeys(client, keyHome, test.deployment.buyer.id);
    const secret = await readHeSecret(keyHome, test.deployment.buyer.id);
    const before = await balances();
    const dealId = `multi-aztec-${crypto.randomUUID().slice(0, 8)}`;
    const status = () => client.get<MultiSellerDealStatus>(`/multi-seller-deals/${dealId}`);
    // The payer signs the request: its escrows are named under the nonce it signed.
    const signed = client.signed('multi_seller', {
      dealId,
      templateId: templates.get(sellers[0]!.id)!.id,
      sellers: sellers.map((s) => ({
        sellerId: s.id,
        templateHash: templateHash(templates.get(s.id)!),
        price: templates.get(s.id)!.price,
      })),
      parameters: PARAMETERS,
      price: '2000',
      heKeyRef: secret.keyRef,
      compliance: RESEARCH_IN_US,
    });
    const created = await client.request<MultiSellerDealStatus>('POST', '/multi-seller-deals', signed);
    expect(created.status).toBe(201);

    const asked = await waitFor(status, (s) => s.escrows?.length === 2 || s.problem !== undefined, 120_000);
    expect(asked.problem).toBeUndefined();
    expect(asked.escrows!.map((e) => [e.sellerId, e.amount])).toEqual(sellers.map((s) => [s.id, '1000']));
    expect(new Set(asked.escrows!.map((e) => e.address)).size).toBe(2);
    for (const share of asked.escrows!) await payInto(buyer, share.address, share.amount);

    const delivered = await waitFor(
      status,
      (s) => s.stage === 'delivered' || s.problem !== undefined,
      240_000,
    );
    expect(delivered).toMatchObject({ stage: 'delivered', result: { contributors: 2 } });
    await confirmDeal(client, dealId, 'multi_seller');
    const settled = await waitFor(status, (s) => s.stage === 'settled' || s.problem !== undefined, 240_000);
    expect(settled.stage).toBe('settled');
    expect(settled.attention).toBeUndefined();

    const escrows = sellers.map((s) => shareEscrowId(dealId, s.id, termsNonceOf({ body: signed })));
    const after = await balances(escrows);
    expect(moved(before, after)).toEqual({
      [buyer]: -2000n,
      [seller]: 975n,
      // The second seller's 975 and both fees (25 each).
      [operator]: 975n + 50n,
    });
    for (const escrow of escrows) {
      expect(after.escrows[escrow]).toBe(0n);
      expect(await sentFor(test, escrow)).toEqual(['release']);
    }
  });
});
