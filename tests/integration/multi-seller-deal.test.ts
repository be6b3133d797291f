import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCoordinatorActivities } from '../../activities/coordinator/activities';
import type { SumCiphertextsInput } from '../../activities/coordinator/he-sum';
import type { SignedBundle } from '../../audit/bundle';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { verifyBundle } from '../../audit/verify/verify-bundle';
import { encryptedAnswerCommitment } from '../../lib/release-statement';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { encryptChunks } from '../../lib/he/ciphertexts';
import { ciphertextTexts, encodeEnvelope, encodingOf, type HeVectorEnvelope } from '../../lib/he/he-result';
import { sumEnvelope } from '../../lib/he/sum-envelope';
import { encodeValues, vectorLayout } from '../../lib/he/vector-layout';
import { COORDINATOR_TASK_QUEUE } from '../../lib/task-queues';
import { connectWorker } from '../../lib/temporal';
import { createHeKeys, readHeSecret } from '../../cli/buyer/he-keys';
import { BlobStore } from '../../lib/blob-store';
import { openSum } from '../../sdk/he-selection';
import type { HeSecretKeyFile } from '../../lib/he/buyer-keys';
import { decodeEnvelope } from '../../lib/he/he-result';
import { openResult } from '../../lib/sealed-result';
import { withSignedMoney } from '../../lib/signed-terms';
import { confirmDeal } from '../../lib/signed-actions';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import { OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import { groupKey } from '../../query-policies/group-domain';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import { multiSellerDeal } from '../../workflows/multi-seller/workflow';
import type { MultiSellerDealStatus } from '../../workflows/multi-seller/shapes';
import {
  RESEARCH_IN_US,
  startDealWorkflow,
  startTestDeployment,
  TestSeller,
  type TestDeployment,
} from './harness';

const PARAMETERS = { min_age: 25, max_age: 65, sex: 'F' };
const FEE_BPS = 250;

describe('a multi-seller sum under the buyer HE key', () => {
  let test: TestDeployment;
  let sellers: TestSeller[] = [];
  const templates = new Map<string, QueryTemplate>();
  let keyHome: string;
  let secret: HeSecretKeyFile;
  let blobs: BlobStore;

  beforeAll(async () => {
    test = await startTestDeployment(
      'multi',
      async (first) => {
        sellers = [
          first,
          ...['b', 'c'].map((suffix) => new TestSeller(`${first.id}-${suffix}`, first.policiesRoot)),
        ];
        for (const seller of sellers) {
          templates.set(seller.id, await seller.publishDemoTemplate());
          await seller.publishDatasetPolicy();
        }
      },
      () => ({
        buyerFunds: 100_000n,
        feeBps: FEE_BPS,
        acceptanceTimeoutMs: 600_000,
        // Each seller its own data: different sizes give different synthetic visits.
        extraSellers: sellers.slice(1).map((seller, i) => ({
          sellerId: seller.id,
          sellerPublicKey: seller.keys.publicKey,
          rows: 20_000 * (i + 1),
        })),
      }),
    );
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-he-multi-'));
    await createHeKeys(test.deployment.buyer.client, keyHome, test.deployment.buyer.id);
    secret = await readHeSecret(keyHome, test.deployment.buyer.id);
    blobs = new BlobStore(join(test.home, 'blobs'));
  });
  afterAll(async () => {
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  const hashOf = (seller: TestSeller) => templateHash(templates.get(seller.id)!);
  const templateId = () => templates.get(sellers[0]!.id)!.id;

  /** One seller's released table, bought plainly (as an operator could start it) by the same buyer. */
  async function releasedTable(seller: TestSeller) {
    const dealId = `plain-${seller.id}-${crypto.randomUUID()}`;
    const handle = await startDealWorkflow(test, {
      dealId,
      sellerId: seller.id,
      templateId: templateId(),
      templateHash: hashOf(seller),
      parameters: PARAMETERS,
      feeBps: FEE_BPS,
      acceptanceTimeoutMs: 1_000,
    });
    const status = await handle.result();
    expect(status.stage).toBe('settled');
    return openResult(await blobs.get(status.result!.resultRef), test.deployment.buyer.resultKeyPem, dealId);
  }

  let dealId: string;

  it("delivers exactly the sum of the sellers' released tables, and pays each seller its share", async () => {
    // Each seller's released table first: the same buyer's identical query returns it again, free.
    const tables = await Promise.all(sellers.map(releasedTable));
    const before = await Promise.all(sellers.map((s) => test.deployment.ledger.balanceOf(s.id)));

    dealId = `multi-${crypto.randomUUID()}`;
    const { client } = test.deployment.buyer;
    const created = await client.request<MultiSellerDealStatus>(
      'POST',
      '/multi-seller-deals',
      client.signed('multi_seller', {
        dealId,
        templateId: templateId(),
        sellers: sellers.map((seller) => ({
          sellerId: seller.id,
          templateHash: hashOf(seller),
          price: '1000',
        })),
        parameters: PARAMETERS,
        price: '3000',
        heKeyRef: secret.keyRef,
        compliance: RESEARCH_IN_US,
      }),
    );
    expect(created.status).toBe(201);
    const delivered = await waitFor(
      dealId,
      (s) =>
        s.stage !== 'query_running' &&
        s.timeline.length > 1 &&
        !['budget_reserved', 'escrow_locked'].includes(s.stage),
    );
    expect(delivered.problem).toBeUndefined();
    expect(delivered).toMatchObject({ stage: 'delivered', price: '3000', result: { contributors: 3 } });

    const fetched = await client.get<{ ciphertext: string }>(`/multi-seller-deals/${dealId}/result`);
    const envelope = decodeEnvelope(Buffer.from(fetched.ciphertext, 'base64'));
    expect(envelope).toMatchObject({ kind: 'sum', contributors: 3, keyRef: secret.keyRef });
    const sum = await openSum(secret, templates.get(sellers[0]!.id)!, envelope);

    const expected = new Map<string, { patients: bigint; total_cost: bigint }>();
    for (const table of tables) {
      const at = (name: string) => table.columns.indexOf(name);
      for (const row of table.rows) {
        const key = groupKey(row.slice(0, 2));
        const current = expected.get(key) ?? { patients: 0n, total_cost: 0n };
        expected.set(key, {
          // A group whose numbers are withheld (noisy count under k) is encoded as zero.
          patients: current.patients + BigInt((row[at('patients')] as number | null) ?? 0),
          total_cost: current.total_cost + BigInt((row[at('total_cost')] as number | null) ?? 0),
        });
      }
    }
    // The buyer's opened sum lists the groups that are not zero everywhere.
    const nonZero = new Map([...expected].filter(([, v]) => v.patients !== 0n || v.total_cost !== 0n));
    expect(new Map(sum.map(({ group, ...values }) => [groupKey(group), values]))).toEqual(nonZero);

    await confirmDeal(client, dealId, 'multi_seller');
    expect(await waitFor(dealId, (s) => s.stage === 'settled')).toMatchObject({ stage: 'settled' });
    const after = await Promise.all(sellers.map((s) => test.deployment.ledger.balanceOf(s.id)));
    // Each seller's share: its own price (1000) less the platform fee.
    expect(after.map((balance, i) => balance - before[i]!)).toEqual(sellers.map(() => 975n));
  });

  /** The multi-seller sum check of `tusk audit verify` on the deal's bundle, once it has settled. */
  async function sumCheck(id: string) {
    const { client } = test.deployment.buyer;
    if ((await waitFor(id, () => false, true)).stage !== 'settled') {
      await confirmDeal(client, id, 'multi_seller');
      expect(await waitFor(id, (s) => s.stage === 'settled')).toMatchObject({ stage: 'settled' });
    }
    await test.temporal.workflow.getHandle(id).result();
    const bundle = await client.get<SignedBundle>(`/deals/${id}/audit-bundle`);
    const signer = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    const report = await verifyBundle(bundle, { operatorKey: signer.publicKey });
    return report.checks.filter((c) => c.check === 'multi-seller sum');
  }

  it('the audit adds the signed contributions again and finds the genuine sum', async () => {
    expect(await sumCheck(dealId)).toEqual([
      {
        check: 'multi-seller sum',
        status: 'ok',
        detail: 'the sum of the 3 signed contributions, added again',
      },
    ]);
  }, 240_000);

  describe('an operator coordinator that sums other ciphertexts than the sellers signed', () => {
    let fake: Worker;
    let running: Promise<void>;
    let connection: Awaited<ReturnType<typeof connectWorker>>;
    /** What the fake worker adds, given the sellers' contributions: the operator's choice per deal. */
    const forgeries = new Map<string, (parts: HeVectorEnvelope[]) => Promise<HeVectorEnvelope[]>>();

    beforeAll(async () => {
      await test.deployment.services.get('coordinator worker')!.stop();
      connection = await connectWorker(inject('temporalAddress'));
      const genuine = createCoordinatorActivities({
        notifications: { add: async () => undefined } as never,
        blobs,
        keys: { currentKey: async () => undefined },
      });
      fake = await Worker.create({
        connection,
        dataConverter: historyDataConverter(test.codec),
        taskQueue: COORDINATOR_TASK_QUEUE,
        activities: {
          ...genuine,
          // Whatever the operator adds, the envelope says three sellers contributed.
          sumCiphertexts: async (input: SumCiphertextsInput) => {
            const parts = await Promise.all(
              input.contributionRefs.map(async (ref) => decodeEnvelope(await blobs.get(ref))),
            );
            const added = await forgeries.get(input.dealId)!(parts);
            const sum = decodeEnvelope(await sumEnvelope(input, added));
            const resultRef = await blobs.put(encodeEnvelope({ ...sum, contributors: parts.length }));
            return {
              resultRef,
              commitment: encryptedAnswerCommitment(resultRef),
              contributors: parts.length,
            };
          },
        },
      });
      running = fake.run();
    }, 120_000);
    let restored: Promise<void> | undefined;
    /** The fake worker stopped and the genuine coordinator back, once. */
    const restoreCoordinator = () =>
      (restored ??= (async () => {
        fake?.shutdown();
        await running;
        await connection?.close();
        await test.deployment.restart('coordinator worker');
      })());
    afterAll(() => restoreCoordinator());

    /** A vector no seller released, encrypted to the buyer's key in a contribution's layout. */
    const madeUp = async (like: HeVectorEnvelope): Promise<HeVectorEnvelope> => {
      const layout = vectorLayout(like.groups, like.quantities.length, encodingOf(like));
      const values = Array.from({ length: like.groups }, () => like.quantities.map(() => 5_000n));
      const chunks = await encryptChunks(
        Buffer.from(secret.publicKey, 'base64'),
        encodeValues(layout, values),
      );
      return { ...like, ciphertexts: ciphertextTexts(chunks) };
    };

    it('a sum that leaves one contribution out, or adds a made-up one: the audit names it', async () => {
      const variants = {
        'left-out': async (parts: HeVectorEnvelope[]) => parts.slice(0, 2),
        'made-up': async (parts: HeVectorEnvelope[]) => [...parts, await madeUp(parts[0]!)],
      };
      const ids: Record<string, string> = {};
      for (const [variant, forge] of Object.entries(variants)) {
        const id = `forged-sum-${variant}-${crypto.randomUUID()}`;
        forgeries.set(id, forge);
        ids[variant] = id;
        const { client } = test.deployment.buyer;
        const created = await client.request<MultiSellerDealStatus>(
          'POST',
          '/multi-seller-deals',
          client.signed('multi_seller', {
            dealId: id,
            templateId: templateId(),
            sellers: sellers.map((seller) => ({
              sellerId: seller.id,
              templateHash: hashOf(seller),
              price: '1000',
            })),
            parameters: PARAMETERS,
            price: '3000',
            heKeyRef: secret.keyRef,
            compliance: RESEARCH_IN_US,
          }),
        );
        expect(created.status).toBe(201);
        // Delivered as a sum of three: nothing in the envelope or the status tells it apart.
        expect(await waitFor(id, (s) => s.stage === 'delivered')).toMatchObject({
          stage: 'delivered',
          result: { contributors: 3 },
        });
      }
      // The audit runs with the genuine coordinator back (it records receipts); the histories keep the forgery.
      await restoreCoordinator();
      for (const id of Object.values(ids)) {
        const checks = await sumCheck(id);
        expect(checks).toHaveLength(1);
        expect(checks[0]).toMatchObject({
          status: 'finding',
          detail: expect.stringMatching(
            /^the sum delivered \(sha256:[0-9a-f]{64}\) is not the sum of the 3 contributions the sellers signed/,
          ),
        });
      }
    }, 600_000);
  });

  async function waitFor(id: string, done: (status: MultiSellerDealStatus) => boolean, once = false) {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const status = await test.deployment.buyer.client.get<MultiSellerDealStatus>(
        `/multi-seller-deals/${id}`,
      );
      if (once || done(status) || status.problem) return status;
      if (Date.now() > deadline) throw new Error(`deal ${id} is still ${status.stage}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it('a share whose lock fails returns every share already paid: nothing is stranded', async () => {
    const buyerId = test.deployment.buyer.id;
    const accounts = [buyerId, ...sellers.map((s) => s.id), OPERATOR_ACCOUNT];
    const balances = async () => {
      const state = await test.deployment.ledger.state();
      return accounts.map((account) => state.balances.get(account) ?? 0n);
    };
    const escrowsOf = async (id: string) =>
      [...(await test.deployment.ledger.state()).escrows.entries()].filter(([escrowId]) =>
        escrowId.startsWith(`share:${id}:`),
      );
    const before = await balances();
    const start = (id: string, prices: string[], startedPrices = prices) => {
      const signed = withSignedMoney('multi_seller', {
        dealId: id,
        templateId: templateId(),
        sellers: sellers.map((seller, i) => ({
          sellerId: seller.id,
          templateHash: hashOf(seller),
          price: prices[i]!,
        })),
        parameters: PARAMETERS,
        price: String(prices.reduce((sum, p) => sum + BigInt(p), 0n)),
        heKeyRef: secret.keyRef,
        compliance: RESEARCH_IN_US,
      });
      return test.temporal.workflow.execute(multiSellerDeal, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: id,
        args: [
          {
            ...signed,
            buyerId,
            sellers: signed.sellers.map((share, i) => ({ ...share, price: startedPrices[i]! })),
            feeBps: FEE_BPS,
            acceptanceTimeoutMs: 1_000,
            terms: test.deployment.buyer.client.signTerms('multi_seller', signed),
          },
        ],
      });
    };

    // The buyer signed a third share it cannot afford once the first two are locked.
    const short = `multi-short-${crypto.randomUUID()}`;
    const unaffordable = String(before[0]! - 2000n + 1n);
    const refunded = await start(short, ['1000', '1000', unaffordable]);
    expect(refunded).toMatchObject({ stage: 'refunded', problem: { code: 'InsufficientFunds' } });
    expect(refunded.result).toBeUndefined();
    const locked = await escrowsOf(short);
    expect(locked).toHaveLength(2);
    for (const [, escrow] of locked) expect(escrow.outcome).toEqual({ kind: 'refund' });
    expect(await balances()).toEqual(before);

    // Started by the operator with the third share dearer than signed: no share is even opened.
    const dearer = `multi-dearer-${crypto.randomUUID()}`;
    const refused = await start(dearer, ['1000', '1000', '1000'], ['1000', '1000', '5000']);
    expect(refused).toMatchObject({ stage: 'failed', problem: { code: 'TermsMismatch' } });
    expect(await escrowsOf(dearer)).toEqual([]);
    expect(await balances()).toEqual(before);
  });

  it('leaves nothing the coordinator could decrypt: no secret key in blobs, logs or history', async () => {
    const secretBytes = Buffer.from(secret.secretKey, 'base64');
    const needles = [secret.secretKey, secretBytes.toString('hex').slice(0, 64)];
    const logs = join(test.home, 'logs');
    for (const file of await readdir(logs)) {
      const text = await readFile(join(logs, file), 'utf8');
      for (const needle of needles) expect(text.includes(needle)).toBe(false);
    }
    const coordinatorLog = await readFile(join(logs, 'coordinator-worker.log'), 'utf8');
    expect(coordinatorLog).not.toMatch(/secret|BEGIN PRIVATE KEY/i);
    const stored = join(test.home, 'blobs', 'sha256');
    for (const prefix of await readdir(stored))
      for (const name of await readdir(join(stored, prefix))) {
        const bytes = await readFile(join(stored, prefix, name));
        expect(bytes.includes(secretBytes.subarray(0, 64))).toBe(false);
        expect(bytes.includes(Buffer.from(secret.secretKey.slice(0, 64)))).toBe(false);
      }
    const history = JSON.stringify(await test.temporal.workflow.getHandle(dealId).fetchHistory());
    expect(history.includes(secret.secretKey.slice(0, 64))).toBe(false);
    expect(history).not.toMatch(/"ciphertexts"/);
  });

  it('refuses fewer than two sellers: at the API, and in the workflow when a perimeter refuses', async () => {
    const { client } = test.deployment.buyer;
    const one = await client
      .post(
        '/multi-seller-deals',
        client.signed('multi_seller', {
          dealId: `multi-${crypto.randomUUID()}`,
          templateId: templateId(),
          sellers: [{ sellerId: sellers[0]!.id, templateHash: hashOf(sellers[0]!), price: '1000' }],
          parameters: PARAMETERS,
          price: '1000',
          heKeyRef: secret.keyRef,
          compliance: RESEARCH_IN_US,
        }),
      )
      .catch((error: unknown) => error);
    expect(one).toMatchObject({ status: 422, code: 'too_few_sellers' });

    // Started behind the API: the second seller's perimeter refuses a hash it did not sign.
    const id = `multi-direct-${crypto.randomUUID()}`;
    const balance = await test.deployment.ledger.balanceOf(test.deployment.buyer.id);
    const shares = [
      { sellerId: sellers[0]!.id, templateHash: hashOf(sellers[0]!) },
      { sellerId: sellers[1]!.id, templateHash: hashOf(sellers[0]!) },
    ];
    const signed = {
      dealId: id,
      templateId: templateId(),
      sellers: shares,
      parameters: PARAMETERS,
      price: '2000',
      heKeyRef: secret.keyRef,
      compliance: RESEARCH_IN_US,
    };
    const status = await test.temporal.workflow.execute(multiSellerDeal, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: id,
      args: [
        {
          ...signed,
          buyerId: test.deployment.buyer.id,
          sellers: shares.map((share) => ({ ...share, price: '1000' })),
          feeBps: FEE_BPS,
          acceptanceTimeoutMs: 1_000,
          terms: client.signTerms('multi_seller', signed),
        },
      ],
    });
    expect(status).toMatchObject({ stage: 'failed', problem: { code: 'TooFewSellers' } });
    expect(status.result).toBeUndefined();
    expect(await test.deployment.ledger.balanceOf(test.deployment.buyer.id)).toBe(balance);
  });
});
