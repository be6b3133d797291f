import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDealResult } from '../../cli/buyer/commands';
import { fetchDealResult } from '../../sdk';
import type { ResultPayload } from '../../lib/sealed-result';
import { TuskApiError } from '../../lib/tusk-client';
import { templateHash } from '../../query-policies/signature';
import type { QueryTemplate } from '../../query-policies/template';
import {
  budgetOf,
  buyDeal,
  startDealBehindTheApi,
  startTestDeployment,
  type TestDeployment,
} from './harness';
import { createTargetDataset, TARGET } from './adversarial/target-dataset';

/** A buyer trying to learn one patient: every attack gets noise or a refusal, never a certainty. */
describe('adversarial buyer', () => {
  let test: TestDeployment;
  let template: QueryTemplate;
  const answers = new Map<string, ResultPayload>();

  async function answer(parameters: Record<string, string | number>): Promise<ResultPayload> {
    const deal = await buyDeal(test.deployment, template.id, parameters);
    const status = await deal.delivered();
    if (status.problem) throw new Error(`${status.problem.code}: ${status.problem.reason}`);
    return openDealResult(test.deployment.buyer.client, test.deployment.buyer.resultKeyPem, deal.dealId);
  }
  const cell = (payload: ResultPayload, zip3: string, column: string) =>
    payload.rows.find((row) => row[0] === zip3)?.[payload.columns.indexOf(column)];
  const spent = async () =>
    (await budgetOf(test.deployment.buyer.client, test.seller.id)).buyer!.spent.epsilon;

  let datasetPath: string;
  beforeAll(async () => {
    datasetPath = join(process.env.TMPDIR ?? '/tmp', `tusk-target-${process.pid}-${Date.now()}.duckdb`);
    await createTargetDataset(datasetPath);
    test = await startTestDeployment(
      'adversarial',
      async (seller) => {
        template = await seller.publishDemoTemplate({
          id: 'cohort-by-zip3',
          dimensions: ['zip3'],
          sql: 'SELECT person_id, zip3, cost FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex',
          maxGroupsPerUnit: 1,
          groupDomain: { zip3: { from: 100, to: 399 } },
        });
        // The buyer's budget is the seller's dataset policy's, not the template's (20).
        await seller.publishDatasetPolicy({
          patients: {
            windowDays: 30,
            total: { epsilon: 100, delta: 1e-5 },
            perBuyer: { epsilon: 10, delta: 1e-6 },
          },
        });
      },
      { datasetPath, buyerFunds: 100_000n },
    );
  });
  afterAll(async () => {
    await test?.close();
    await rm(datasetPath, { force: true });
  });

  it('a differencing pair that differs by one person does not reveal that person', async () => {
    const without = await answer({ min_age: 20, max_age: 76, sex: 'F' });
    const withTarget = await answer({ min_age: 20, max_age: 77, sex: 'F' });
    answers.set('without', without);
    const difference =
      Number(cell(withTarget, TARGET.zip3, 'total_cost')) - Number(cell(without, TARGET.zip3, 'total_cost'));
    // Each sum carries discrete Laplace noise of scale 6000: the difference is the target's cost only by
    // a coincidence of odds about 1 in 24,000.
    expect(without.privacy.noiseScales['total_cost (sum)']).toBe(6000);
    expect(difference).not.toBe(TARGET.cost);
    expect(await spent()).toBe(4);
  });

  it('a one-person cohort and an empty one differ only by noise, in the answer and the status', async () => {
    const [alone, nobody] = await Promise.all([
      buyDeal(test.deployment, template.id, { min_age: 77, max_age: 77, sex: 'F' }),
      buyDeal(test.deployment, template.id, { min_age: 78, max_age: 78, sex: 'F' }),
    ]);
    const statuses = await Promise.all([alone.delivered(), nobody.delivered()]);
    const open = (dealId: string) =>
      openDealResult(test.deployment.buyer.client, test.deployment.buyer.resultKeyPem, dealId);
    const [one, none] = [await open(alone.dealId), await open(nobody.dealId)];
    // The same groups, in the same order, with the same metadata: only noisy numbers can differ.
    expect(one.columns).toEqual(none.columns);
    expect(one.rows.map((row) => row[0])).toEqual(none.rows.map((row) => row[0]));
    expect(one.rows).toHaveLength(300);
    expect(one.privacy).toEqual(none.privacy);
    // What the operator, the seller and an auditor see of the two deals is the same but for ids.
    const visible = (status: (typeof statuses)[number]) => ({
      stage: status.stage,
      stages: status.timeline.map((t) => t.stage),
      result: { ...status.result, resultRef: undefined, commitment: undefined },
      problem: status.problem,
    });
    expect(visible(statuses[0])).toEqual(visible(statuses[1]));
    // The sealed boxes the operator stores and forwards are padded to one length fixed by the template.
    const sealedLength = async (dealId: string) =>
      Buffer.from((await fetchDealResult(test.deployment.buyer.client, dealId)).ciphertext, 'base64').length;
    expect(await sealedLength(alone.dealId)).toBe(await sealedLength(nobody.dealId));
    expect(await spent()).toBe(8);
  });

  it('repeating a query returns the same answer for free, so the noise cannot be averaged away', async () => {
    const again = await answer({ min_age: 20, max_age: 76, sex: 'F' });
    expect(again.rows).toEqual(answers.get('without')!.rows);
    expect(again.privacy.epsilonSpent).toBe(0);
    expect(await spent()).toBe(8);
  });

  it('draining the budget: concurrent deals stop exactly at the budget, with a clear refusal', async () => {
    const attempts = await Promise.all(
      [30, 31, 32, 33].map((min_age) =>
        buyDeal(test.deployment, template.id, { min_age, max_age: 59, sex: 'F' }).then((deal) =>
          deal.delivered(),
        ),
      ),
    );
    expect(attempts.filter((status) => status.stage === 'delivered')).toHaveLength(1);
    const refused = attempts.filter((status) => status.problem);
    expect(refused).toHaveLength(3);
    for (const status of refused) {
      expect(status.problem).toMatchObject({
        code: 'BudgetExhausted',
        reason: expect.stringMatching(/spent ε=10 of ε=10/),
      });
      expect(status.timeline.map((t) => t.stage)).toEqual(['quoted', 'failed']);
    }
    expect(await spent()).toBe(10);
  });

  it('injection through parameters is refused by the API and again by the perimeter', async () => {
    await expect(
      buyDeal(test.deployment, template.id, { min_age: 20, max_age: 59, sex: "F' OR '1'='1" }),
    ).rejects.toMatchObject({
      status: 422,
      code: 'invalid_parameters',
    } satisfies Partial<TuskApiError>);
    const behind = await startDealBehindTheApi(test, {
      templateId: template.id,
      templateHash: templateHash(template),
      parameters: { min_age: '20; DROP TABLE patients', max_age: 59, sex: 'F' },
    });
    expect(behind.problem?.code).toBe('InvalidParameters');
  });
});
