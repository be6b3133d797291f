import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDealResult, waitForStage } from '../../cli/buyer/commands';
import { OPERATOR_ACCOUNT } from '../../activities/settlement/local-ledger';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { TuskApiError, TuskClient } from '../../lib/tusk-client';
import type { DealStatus } from '../../workflows/deal/state';
import { readTemplateFile } from '../../query-policies/template-files';
import { domainGroups } from '../../query-policies/group-domain';
import { buyDeal, DEMO_TEMPLATE, startTestDeployment, type TestDeployment } from './harness';
import { historyText } from './lifecycle-harness';
import { confirmDeal } from '../../lib/signed-actions';
import { testWorkflowBundle } from '../support/workflow-bundle';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const ACCEPTANCE_MS = 8_000;

/**
 * The same cohort computed straight from the DuckDB file, independently of the perimeter's code:
 * distinct patients per group, leaving out patients found in more groups than the template allows.
 */
async function trueGroupSizes(datasetPath: string, maxGroupsPerUnit: number) {
  const instance = await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`
      WITH cohort AS (SELECT DISTINCT person_id, zip3, diagnosis_code FROM patients WHERE age BETWEEN 30 AND 50 AND sex = 'F'),
      kept AS (SELECT person_id FROM cohort GROUP BY person_id HAVING count(*) <= ${maxGroupsPerUnit})
      SELECT zip3 || '/' || diagnosis_code AS grp, count(*)::INTEGER AS patients
      FROM cohort WHERE person_id IN (SELECT person_id FROM kept) GROUP BY ALL`);
    return new Map(
      (reader.getRowObjectsJS() as { grp: string; patients: number }[]).map((g) => [g.grp, g.patients]),
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('a cohort-query deal, end to end', () => {
  let test: TestDeployment;
  let webhook: Server;
  const events: { dealId: string; event: string }[] = [];

  beforeAll(async () => {
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        events.push(JSON.parse(body) as { dealId: string; event: string });
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const address = webhook.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    test = await startTestDeployment('deal', (seller) => seller.publishDemoTemplate().then(() => undefined), {
      acceptanceTimeoutMs: ACCEPTANCE_MS,
      buyerWebhookUrl: `http://127.0.0.1:${port}/tusk`,
    });
  });
  afterAll(async () => {
    await test?.close();
    webhook?.close();
  });

  let dealId: string;

  it('delivers a sealed, noisy table that only the buyer opens: every declared group, counts near the truth', async () => {
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS);
    dealId = deal.dealId;
    expect(deal.created.status).toBe(201);
    const delivered = await deal.delivered();
    expect(delivered.stage).toBe('delivered');

    const confirmed = await confirmDeal<DealStatus>(test.deployment.buyer.client, dealId);
    expect(confirmed).toMatchObject({ stage: 'confirmed', confirmedBy: 'buyer' });

    const payload = await openDealResult(
      test.deployment.buyer.client,
      test.deployment.buyer.resultKeyPem,
      dealId,
    );
    expect(payload.columns).toEqual(['zip3', 'diagnosis_code', 'patients', 'avg_cost', 'total_cost']);
    expect(payload.privacy).toEqual({
      mechanism: 'discrete_laplace',
      epsilonSpent: 2,
      delta: 0,
      noiseScales: payload.privacy.noiseScales,
      minCohortSize: 20,
      groupRelease: { kind: 'declared_domain' },
    });
    const scale = payload.privacy.noiseScales.units!;
    const truth = await trueGroupSizes(test.deployment.datasetPath, 3);
    // Every group of the declared domain (300 zip3 × 12 diagnoses) is a row, whatever the data holds.
    expect(payload.rows.map((row) => `${row[0]}/${row[1]}`)).toEqual(
      domainGroups(await readTemplateFile(DEMO_TEMPLATE)).map((group) => group.join('/')),
    );
    const shown = payload.rows.filter((row) => row[2] !== null);
    expect(shown.length).toBeGreaterThan(10);
    let noisy = 0;
    for (const [zip3, dx, patients] of shown) {
      const exact = truth.get(`${zip3}/${dx}`) ?? 0;
      // Numbers show only where the noisy count reached k.
      expect(Number(patients)).toBeGreaterThanOrEqual(20);
      // 20 noise scales: a false alarm has odds of about e^-20 per group.
      expect(Math.abs(Number(patients) - exact)).toBeLessThanOrEqual(20 * scale);
      if (Number(patients) !== exact) noisy++;
    }
    expect(noisy).toBeGreaterThan(shown.length / 2);
    // A group far above k cannot lose its numbers to noise; an empty group almost never shows any.
    const shownGroups = new Set(shown.map((row) => `${row[0]}/${row[1]}`));
    for (const [group, size] of truth) if (size >= 20 + 20 * scale) expect(shownGroups).toContain(group);
    const emptyShown = payload.rows.filter((row) => row[2] !== null && !truth.has(`${row[0]}/${row[1]}`));
    expect(emptyShown.length).toBeLessThan(payload.rows.length / 20);
    // Nothing in the status depends on the data: refs, a commitment, the answer's ε.
    expect(Object.keys(delivered.result!).sort()).toEqual([
      'commitment',
      'epsilonSpent',
      'repeat',
      'resultRef',
    ]);
    expect(delivered.result).toMatchObject({ epsilonSpent: 2, repeat: false });
  });

  it('pays the seller price minus fee, and the fee to the operator, once confirmed', async () => {
    const settled = await waitForStage(
      test.deployment.buyer.client,
      dealId,
      (s) => s.stage === 'settled',
      60_000,
    );
    const { ledger } = test.deployment;
    expect(await ledger.balanceOf('demo-buyer')).toBe(4000n);
    expect(await ledger.balanceOf(test.seller.id)).toBe(975n);
    expect(await ledger.balanceOf(OPERATOR_ACCOUNT)).toBe(25n);
    expect(settled.timeline.map((t) => t.stage)).toEqual([
      'quoted',
      'budget_reserved',
      'escrow_locked',
      'query_running',
      'delivered',
      'confirmed',
      'settled',
    ]);
  });

  it('notifies the buyer through the queue and its webhook', async () => {
    await expect
      .poll(() => events.filter((e) => e.dealId === dealId).map((e) => e.event), { timeout: 15_000 })
      .toContain('result_ready');
  });

  it('a retried request with the same deal id starts nothing twice', async () => {
    const again = await buyDeal(test.deployment, 'cohort-cost-by-zip3', PARAMETERS, dealId);
    expect(again.created.status).toBe(200);
    expect(again.created.body.dealId).toBe(dealId);
    expect(await test.deployment.ledger.balanceOf('demo-buyer')).toBe(4000n);
  });

  it('lets the seller see the deal but not its result, and not buy', async () => {
    const seller = new TuskClient(test.deployment.apiUrl, test.seller.id, test.seller.keys.privateKeyPem);
    expect((await seller.get<DealStatus>(`/deals/${dealId}`)).stage).toBe('settled');
    await expect(seller.get(`/deals/${dealId}/result`)).rejects.toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    await expect(seller.post('/deals', {})).rejects.toBeInstanceOf(TuskApiError);
  });

  it('confirms by itself when the acceptance timer runs out', async () => {
    const deal = await buyDeal(test.deployment, 'cohort-cost-by-zip3', { ...PARAMETERS, sex: 'M' });
    const settled = await waitForStage(
      test.deployment.buyer.client,
      deal.dealId,
      (s) => s.stage === 'settled',
      60_000,
    );
    expect(settled.confirmedBy).toBe('acceptance_timer');
    expect(await test.deployment.ledger.balanceOf(test.seller.id)).toBe(1950n);
  });

  it('keeps rows, plaintext and keys out of the workflow history', async () => {
    const payload = await openDealResult(
      test.deployment.buyer.client,
      test.deployment.buyer.resultKeyPem,
      dealId,
    );
    const distinctive = payload.rows
      .flatMap((row) => [String(row[3]), String(row[4])])
      .filter((v) => v.length >= 6);
    expect(distinctive.length).toBeGreaterThan(10);
    // Decrypted by the history codec: not even what holds the history keys may find these.
    const searchable = await historyText(test, dealId);
    expect(searchable).toContain(dealId);
    for (const value of distinctive) expect(searchable).not.toContain(value);
    expect(searchable).not.toContain('PRIVATE KEY');
    expect(searchable).not.toContain(test.deployment.buyer.resultPublicKey);
  });

  it('replays its recorded history, and a reordered workflow fails the replay', async () => {
    const history = await test.temporal.workflow.getHandle(dealId).fetchHistory();
    const dataConverter = historyDataConverter(test.codec);
    await expect(
      Worker.runReplayHistory({ workflowBundle: await testWorkflowBundle(), dataConverter }, history, dealId),
    ).resolves.toBeUndefined();
    await expect(
      Worker.runReplayHistory(
        {
          workflowBundle: await testWorkflowBundle(join(__dirname, '../fixtures/reordered-deal-workflow.ts')),
          dataConverter,
        },
        history,
        dealId,
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });

  it('every process shuts down by itself on SIGTERM', async () => {
    expect(await test.deployment.stop()).toEqual({
      'deals worker': 'graceful',
      'perimeter worker': 'graceful',
      'settlement worker': 'graceful',
      'coordinator worker': 'graceful',
      notifier: 'graceful',
      api: 'graceful',
    });
  });
});
