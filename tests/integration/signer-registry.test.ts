import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyPaths, writeFileAtomic } from '../../cli/common';
import { addParty } from '../../lib/parties';
import { loadOperatorSigner } from '../../lib/transparency/operator-key';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { signTerms } from '../../lib/signed-terms';
import { DEALS_TASK_QUEUE } from '../../lib/temporal';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import type { CohortQueryDealInput, DealStatus } from '../../workflows/deal/state';
import { milestoneGrant } from '../../workflows/grant/workflow';
import { grantWorkflowId } from '../../lib/ids/workflow-ids';
import { tusk } from './cli/run-tusk';
import {
  budgetOf,
  dealTermsBody,
  RESEARCH_IN_US,
  startDealBehindTheApi,
  startDealWorkflow,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { LIFECYCLE_PARTIES, waitFor } from './lifecycle-harness';
import { confirmDeal } from '../../lib/signed-actions';
import { Worker } from '@temporalio/worker';
import { openDealResult } from '../../cli/buyer/result';
import { BlobStore } from '../../lib/blob-store';
import { canonicalJson } from '../../lib/canonical-json';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { signReleaseStatement, termsHashOf } from '../../lib/release-statement';
import {
  buildResultPayload,
  resultCommitment,
  sealResult,
  type ResultPayload,
} from '../../lib/sealed-result';
import { checkRelease, fetchDealResult } from '../../sdk';
import { connectWorker } from '../../lib/temporal';
import { perimeterTaskQueue } from '../../lib/task-queues';
import type { RunApprovedQueryInput } from '../../activities/perimeter/types';
import { loadPerimeterKey } from '../../activities/perimeter/release-signing';
import type { SignedBundle } from '../../audit/bundle';
import { verifyBundle } from '../../audit/verify/verify-bundle';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };

/**
 * The operator, with Temporal and the history codec's keys, signs terms with a key of its own in a
 * registered party's name, or swaps the party's key in the registry: the perimeter and settlement
 * refuse the first, and the party's own `key check` names the second.
 */
describe('who signed is who is named', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  let keyHome: string;
  let env: Record<string, string>;
  const ledger = () => test.deployment.ledger;
  // What the buyer has spent of the dataset, or the API's 404 while it has spent nothing.
  const spent = () =>
    budgetOf(test.deployment.buyer.client, test.seller.id).then(
      (view) => view.buyer?.spent.epsilon ?? 0,
      (error: { status?: number }) => error.status,
    );
  /** The deal as the operator starts it, and the body the buyer would have signed for it. */
  const dealFor = (dealId: string): Omit<CohortQueryDealInput, 'terms' | 'buyerKeyRef'> => ({
    dealId,
    buyerId: 'demo-buyer',
    sellerId: test.seller.id,
    templateId: template.id,
    templateHash: templateHash(template),
    parameters: PARAMETERS,
    price: template.price,
    feeBps: 250,
    compliance: RESEARCH_IN_US,
    acceptanceTimeoutMs: 1_000,
  });

  beforeAll(async () => {
    test = await startTestDeployment(
      'signer-registry',
      async (seller) => {
        template = await seller.publishDemoTemplate();
      },
      { parties: LIFECYCLE_PARTIES },
    );
    keyHome = await mkdtemp(join(tmpdir(), 'tusk-key-check-'));
    const operator = await loadOperatorSigner(join(test.home, 'keys', 'operator-signing.ed25519.pem'), false);
    env = { TUSK_HOME: keyHome, TUSK_API_URL: test.deployment.apiUrl, TUSK_OPERATOR_KEY: operator.publicKey };
    await writeFileAtomic(
      keyPaths(keyHome, 'demo-buyer').signing,
      test.deployment.buyer.signingKeyPem,
      0o600,
    );
  });
  afterAll(async () => {
    await test?.close();
    if (keyHome) await rm(keyHome, { recursive: true, force: true });
  });

  it("terms signed by a fresh key in the registered buyer's name: the perimeter refuses, nothing is reserved or paid", async () => {
    const [spentBefore, balanceBefore] = [await spent(), await ledger().balanceOf('demo-buyer')];
    const dealId = `fresh-key-${crypto.randomUUID()}`;
    const deal = dealFor(dealId);
    const impostor = generateEd25519KeyPair();
    const terms = signTerms(
      'cohort_query',
      'demo-buyer',
      dealTermsBody({ ...deal, buyerKeyRef: '' }, test.deployment.buyer),
      impostor.privateKeyPem,
    );
    const status = await startDealBehindTheApi(test, { ...deal, terms });
    expect(status.stage).toBe('failed');
    expect(status.problem).toEqual({
      code: 'SignerNotRegistered',
      reason: "the terms are signed by a key that is not demo-buyer's registered key",
    });
    expect(status.result).toBeUndefined();
    expect(await spent()).toEqual(spentBefore);
    expect(await ledger().balanceOf('demo-buyer')).toBe(balanceBefore);
  });

  it("a grant under a fresh key in the registered sponsor's name: settlement refuses to lock, the sponsor keeps its money", async () => {
    const before = await ledger().balanceOf('sponsor');
    const grantId = `fresh-key-${crypto.randomUUID()}`;
    const milestone = { milestoneId: 'm1', name: 'm1', amount: '500', check: { kind: 'sponsor_approval' } };
    const deadline = Date.now() + 60_000;
    const terms = signTerms(
      'grant',
      'sponsor',
      {
        grantId,
        granteeId: 'lab',
        milestones: [{ ...milestone, deadline: new Date(deadline).toISOString() }],
      },
      generateEd25519KeyPair().privateKeyPem,
    );
    const handle = await test.temporal.workflow.start(milestoneGrant, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: grantWorkflowId(grantId),
      args: [
        {
          grantId,
          sponsorId: 'sponsor',
          granteeId: 'lab',
          feeBps: 250,
          milestones: [{ ...milestone, check: { kind: 'sponsor_approval' as const }, deadline }],
          terms,
        },
      ],
    });
    const ended = await handle.result();
    expect(ended.stage).toBe('failed');
    expect(ended.problem).toEqual({
      code: 'PayerNotSigned',
      reason: "the terms are signed by a key that is not sponsor's registered key",
    });
    expect(await ledger().balanceOf('sponsor')).toBe(before);
    expect(await ledger().balanceOf('lab')).toBe(0n);
  });

  it("a key swapped in the registry: the buyer's key check says its key is not current, and the perimeter refuses its genuine terms", async () => {
    const check = () => tusk(['buyer', 'key', 'check', '--as', 'demo-buyer', '--json'], env);
    const honest = await check();
    expect(honest.code, honest.stderr).toBe(0);
    expect(JSON.parse(honest.stdout)).toMatchObject({
      ok: true,
      loggedKey: test.deployment.buyer.client.publicKey,
    });

    // The operator rewrites the registry: the API logs the rotation, as it logs every registration.
    const swapped = generateEd25519KeyPair();
    await addParty(join(test.home, 'parties.json'), {
      id: 'demo-buyer',
      role: 'buyer',
      publicKey: swapped.publicKey,
    });
    const afterSwap = await check();
    expect(afterSwap.code).toBe(1);
    // The log answers only a party's current key: the buyer's own key, swapped away, is refused, and
    // its key check says so (which key replaced it, the buyer learns from the operator or an auditor).
    const finding = JSON.parse(afterSwap.stdout) as { ok: boolean; loggedKey?: string; problem: string };
    expect(finding.ok).toBe(false);
    expect(finding.loggedKey).toBeUndefined();
    expect(finding.problem).toMatch(/^KEY NOT CURRENT/);

    // The swap is no free pass either: the buyer's real terms now fail the registered-key check.
    const deal = dealFor(`after-swap-${crypto.randomUUID()}`);
    const status = await startDealBehindTheApi(test, {
      ...deal,
      terms: test.deployment.buyer.client.signTerms(
        'cohort_query',
        dealTermsBody({ ...deal, buyerKeyRef: '' }, test.deployment.buyer),
      ),
    });
    expect(status.problem?.code).toBe('SignerNotRegistered');

    // Rotated back, the buyer's key is its newest registration again: the check passes once more.
    await addParty(join(test.home, 'parties.json'), {
      id: 'demo-buyer',
      role: 'buyer',
      publicKey: test.deployment.buyer.client.publicKey,
    });
    expect((await check()).code).toBe(0);
  });

  describe('the perimeter signs what it releases', () => {
    let genuine: ResultPayload;
    let genuineDealId: string;
    let operatorKey: string;
    /** What `tusk audit verify --perimeter-keys` would say of a deal's release statements. */
    const releaseChecks = async (dealId: string) => {
      const bundle = await test.deployment.buyer.client.get<SignedBundle>(`/deals/${dealId}/audit-bundle`);
      const { publicKey } = await loadPerimeterKey(test.deployment.perimeterStateDir);
      const report = await verifyBundle(bundle, {
        operatorKey,
        perimeterKeys: { [test.seller.id]: publicKey },
      });
      return report.checks.filter((c) => c.check === 'release statements');
    };

    it("a genuine answer comes with the perimeter's statement, and the buyer's client accepts it", async () => {
      operatorKey = env.TUSK_OPERATOR_KEY!;
      const { client } = test.deployment.buyer;
      // Genuine terms, the buyer's own; a short acceptance window, so the deal settles and has a receipt.
      const deal = dealFor(`genuine-${crypto.randomUUID()}`);
      const settled = await startDealBehindTheApi(test, {
        ...deal,
        terms: client.signTerms(
          'cohort_query',
          dealTermsBody({ ...deal, buyerKeyRef: '' }, test.deployment.buyer),
        ),
      });
      expect(settled.problem).toBeUndefined();
      const sealed = await fetchDealResult(client, deal.dealId);
      const check = await checkRelease(client, sealed, test.seller.id, operatorKey);
      expect(check).toMatchObject({ ok: true });
      expect(sealed.release?.body).toMatchObject({
        dealId: deal.dealId,
        sellerId: test.seller.id,
        commitment: sealed.commitment,
        datasetPolicy: { version: 1 },
      });
      genuine = await openDealResult(client, test.deployment.buyer.resultKeyPem, deal.dealId, operatorKey);
      genuineDealId = deal.dealId;
    });

    it("a sealed table and commitment the operator made up: the buyer's client refuses it", async () => {
      // The operator stops the seller's perimeter and answers its task queue itself.
      await test.deployment.services.get('perimeter worker')!.stop();
      const blobs = new BlobStore(join(test.home, 'blobs'));
      const buyer = test.deployment.buyer;
      const impostorKey = generateEd25519KeyPair();
      let signWith: 'nobody' | 'impostor' = 'nobody';
      const connection = await connectWorker(inject('temporalAddress'));
      const fake = await Worker.create({
        connection,
        dataConverter: historyDataConverter(test.codec),
        taskQueue: perimeterTaskQueue(test.seller.id),
        activities: {
          reservePrivacyBudget: async () => ({ epsilon: 0, repeat: false }),
          releasePrivacyBudget: async () => undefined,
          runApprovedQuery: async (input: RunApprovedQueryInput) => {
            const { dealId, templateId, templateHash: hash, parameters } = input;
            const payload = buildResultPayload(
              { dealId, templateId, templateHash: hash, parameters },
              {
                columns: genuine.columns,
                privacy: genuine.privacy,
                rows: genuine.rows.map((row) =>
                  row.map((cell) => (typeof cell === 'number' ? cell * 2 : cell)),
                ),
              },
            );
            const commitment = resultCommitment(payload);
            // The operator pads nothing: the rows' own length is its bound.
            const rowsBytes = Buffer.byteLength(canonicalJson(payload.rows));
            const resultRef = await blobs.put(await sealResult(payload, buyer.resultPublicKey, rowsBytes));
            const release =
              signWith === 'impostor'
                ? signReleaseStatement(
                    {
                      type: 'tusk.release/v1',
                      kind: 'sealed_table',
                      sellerId: test.seller.id,
                      dealId: input.dealId,
                      termsHash: termsHashOf(input.terms),
                      commitment,
                      epsilonCharged: 1,
                      deltaCharged: 0,
                      datasetPolicy: { version: 1, hash: 'made-up' },
                    },
                    impostorKey,
                  )
                : undefined;
            return { resultRef, commitment, epsilonSpent: 1, repeat: false, ...(release ? { release } : {}) };
          },
        },
      });
      const running = fake.run();
      const made: string[] = [];
      try {
        for (const variant of ['nobody', 'impostor'] as const) {
          signWith = variant;
          // A window long enough that only the buyer's confirmation pays: settlement was never shown
          // the seller's signed release, so it would refuse the timer's payout.
          const deal = {
            ...dealFor(`made-up-${variant}-${crypto.randomUUID()}`),
            acceptanceTimeoutMs: 600_000,
          };
          const handle = await startDealWorkflow(test, {
            ...deal,
            terms: buyer.client.signTerms('cohort_query', dealTermsBody({ ...deal, buyerKeyRef: '' }, buyer)),
          });
          const delivered = await waitFor(
            () => buyer.client.get<DealStatus>(`/deals/${deal.dealId}`),
            (s) => s.stage !== 'escrow_locked' && s.stage !== 'query_running' && s.result !== undefined,
          );
          expect(delivered.stage).toBe('delivered');
          expect(delivered.result?.commitment).toMatch(/^sha256:/);
          const opening = openDealResult(buyer.client, buyer.resultKeyPem, deal.dealId, operatorKey);
          await expect(opening).rejects.toThrow(
            variant === 'nobody'
              ? /not what seller .* released: no well-formed release statement/
              : /not what seller .* released: signed by .*, not the seller's registered perimeter key/,
          );
          // A buyer who confirms without checking: the made-up answer is paid, so an audit must name it.
          await confirmDeal(buyer.client, deal.dealId);
          expect((await handle.result()).stage).toBe('settled');
          made.push(deal.dealId);
        }
      } finally {
        fake.shutdown();
        await running;
        await connection.close();
        await test.deployment.restart('perimeter worker');
      }
      // An auditor pinning the seller's perimeter key names both answers; the genuine one passes.
      expect(await releaseChecks(genuineDealId)).toMatchObject([{ status: 'ok' }]);
      expect(await releaseChecks(made[0]!)).toEqual([
        {
          check: 'release statements',
          status: 'finding',
          detail: `the release of ${made[0]} carries no statement of its seller's perimeter: the seller did not release it`,
        },
      ]);
      expect(await releaseChecks(made[1]!)).toMatchObject([
        { status: 'finding', detail: expect.stringMatching(/not the seller's registered perimeter key/) },
      ]);
    });
  });
});
