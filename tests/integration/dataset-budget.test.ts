import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetView } from '../../api/budgets/schemas';
import { keyPaths } from '../../cli/common';
import { generateEd25519KeyPair } from '../../lib/ed25519';
import { TuskClient } from '../../lib/tusk-client';
import type { QueryTemplate } from '../../query-policies/template';
import type { BuyerIdentity } from '../../scripts/lib/local-deployment';
import type { DealStatus } from '../../workflows/deal/state';
import { budgetOf, buyDeal, startTestDeployment, type TestDeployment } from './harness';

const run = promisify(execFile);
const TUSK = join(__dirname, '../../bin/tusk');
const BUYERS = Array.from({ length: 10 }, (_, i) => `fresh-buyer-${i + 1}`);
/** Each answer of the demo template costs ε = 2; one buyer may spend 6, all buyers together 10. */
const POLICY = {
  patients: {
    windowDays: 30,
    total: { epsilon: 10, delta: 1e-5 },
    perBuyer: { epsilon: 6, delta: 1e-6 },
  },
};

describe('the dataset budget is a privacy filter across all buyers', () => {
  let test: TestDeployment;
  let template: QueryTemplate;

  beforeAll(async () => {
    test = await startTestDeployment(
      'filter',
      async (seller) => {
        template = await seller.publishDemoTemplate();
        await seller.publishDatasetPolicy(POLICY);
      },
      {
        parties: [
          ...BUYERS.map((id) => ({ id, role: 'buyer' as const, funds: 20_000n })),
          { id: 'auditor-1', role: 'auditor' as const },
        ],
      },
    );
  });
  afterAll(() => test?.close());

  /** A buyer buys distinct queries (each its own age range) until the perimeter refuses one. */
  async function buyUntilRefused(buyer: BuyerIdentity, index: number) {
    const delivered: DealStatus[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      const parameters = { min_age: 20 + index, max_age: 60 + attempt, sex: attempt % 2 ? 'M' : 'F' };
      const deal = await buyDeal(test.deployment, template.id, parameters, undefined, buyer);
      const status = await deal.delivered();
      if (status.problem) return { buyer: buyer.id, delivered, refusal: status };
      delivered.push(status);
    }
    throw new Error(`${buyer.id} was never refused`);
  }

  it(
    'ten fresh buyer identities together cannot exceed the dataset budget',
    { timeout: 300_000 },
    async () => {
      const buyers = BUYERS.map((id) => test.deployment.parties.get(id)!);
      const outcomes = await Promise.all(buyers.map(buyUntilRefused));

      const answers = outcomes.reduce((n, o) => n + o.delivered.length, 0);
      // 10 / 2 = 5 answers in all, however the ten buyers raced for them.
      expect(answers).toBe(5);
      for (const { buyer, delivered, refusal } of outcomes) {
        expect(delivered.length).toBeLessThanOrEqual(3);
        expect(refusal.problem?.code).toBe('BudgetExhausted');
        expect(refusal.timeline.map((t) => t.stage)).toEqual(['quoted', 'failed']);
        // A buyer with its own budget left is refused for the dataset's total, and told what is spent.
        if (delivered.length < 3)
          expect(refusal.problem?.reason).toMatch(
            /^privacy budget exhausted for dataset patients \(all buyers together\): spent ε=10 of ε=10 \(δ=0\.00001\), ε=0 left in the last 30 days; this answer costs ε=2$/,
          );
        else
          expect(refusal.problem?.reason).toMatch(
            new RegExp(`^privacy budget exhausted for buyer ${buyer} `),
          );
      }
      expect(outcomes.filter((o) => o.delivered.length === 0).length).toBeGreaterThanOrEqual(5);

      // Every buyer sees its own spend and the dataset's total; the seller sees the total.
      for (const { buyer, delivered } of outcomes) {
        const view = await budgetOf(test.deployment.parties.get(buyer)!.client, test.seller.id);
        expect(view).toMatchObject({
          sellerId: test.seller.id,
          dataset: 'patients',
          windowDays: 30,
          total: {
            budget: POLICY.patients.total,
            spent: { epsilon: 10, delta: 0, rho: 0 },
            left: { epsilon: 0 },
          },
          buyer: {
            budget: POLICY.patients.perBuyer,
            spent: { epsilon: 2 * delivered.length },
            left: { epsilon: 6 - 2 * delivered.length },
          },
        });
      }
      const seller = new TuskClient(test.deployment.apiUrl, test.seller.id, test.seller.keys.privateKeyPem);
      const sellerView = await budgetOf(seller, test.seller.id);
      expect(sellerView.total.spent.epsilon).toBe(10);
      expect(sellerView.buyer).toBeUndefined();
    },
  );

  it('the CLI shows what is left, as a table and as JSON', async () => {
    const buyer = test.deployment.parties.get(BUYERS[0]!)!;
    const home = join(test.home, 'cli-home');
    await mkdir(join(home, 'keys'), { recursive: true });
    await writeFile(keyPaths(home, buyer.id).signing, buyer.signingKeyPem, { mode: 0o600 });
    const args = ['buyer', 'budget', '--seller', test.seller.id, '--dataset', 'patients', '--as', buyer.id];
    const env = { ...process.env, TUSK_HOME: home, TUSK_API_URL: test.deployment.apiUrl };
    const json = JSON.parse((await run(TUSK, [...args, '--json'], { env })).stdout) as BudgetView;
    expect(json.total).toMatchObject({ spent: { epsilon: 10 }, left: { epsilon: 0 } });
    expect(json.buyer?.budget).toEqual(POLICY.patients.perBuyer);
    const table = (await run(TUSK, args, { env })).stdout;
    expect(table).toContain(`${test.seller.id}/patients: privacy budget per 30 days`);
    expect(table).toMatch(/all buyers\s+10\s+0\s+10\s+0\s+0\.00001\s+0/);
    expect(table).toMatch(
      new RegExp(`you\\s+${json.buyer!.spent.epsilon}\\s+${json.buyer!.left.epsilon}\\s+6`),
    );
  });

  it('a perimeter worker does not start without a valid signed policy, nor beside another on the same ledger', async () => {
    const worker = (env: Record<string, string>) =>
      run(process.execPath, ['--import', 'tsx', join(__dirname, '../../workers/perimeter.ts')], {
        env: {
          ...process.env,
          TUSK_HOME: test.home,
          TEMPORAL_ADDRESS: '127.0.0.1:1',
          TUSK_SELLER_ID: test.seller.id,
          TUSK_SELLER_PUBLIC_KEY: test.seller.keys.publicKey,
          TUSK_DATASETS: `patients=${test.deployment.datasetPath}`,
          TUSK_POLICIES_DIR: test.seller.directory,
          TUSK_LOG_URL: test.deployment.apiUrl,
          TUSK_OPERATOR_PUBLIC_KEY: generateEd25519KeyPair().publicKey,
          ...env,
        },
        cwd: join(__dirname, '../..'),
      }).then(
        () => 'started',
        (error: { code: number; stderr: string }) => `${error.code}: ${error.stderr.trim()}`,
      );
    const empty = join(test.home, 'no-policy');
    await mkdir(empty, { recursive: true });
    expect(await worker({ TUSK_POLICIES_DIR: empty })).toBe(
      `1: tusk perimeter worker: dataset policy ${join(empty, 'dataset-policy.json')} does not exist or cannot be read`,
    );
    expect(await worker({ TUSK_SELLER_PUBLIC_KEY: generateEd25519KeyPair().publicKey })).toMatch(
      /^1: tusk perimeter worker: dataset policy .* is not approved: the signature does not verify/,
    );
    expect(await worker({})).toBe(
      `1: tusk perimeter worker: another perimeter worker holds the privacy ledger ${join(test.deployment.perimeterStateDir, 'privacy-ledger.sqlite')}`,
    );
  });

  it('only buyers and the dataset’s own seller see budgets', async () => {
    const auditor = test.deployment.parties.get('auditor-1')!.client;
    await expect(budgetOf(auditor, test.seller.id)).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    const seller = new TuskClient(test.deployment.apiUrl, test.seller.id, test.seller.keys.privateKeyPem);
    await expect(budgetOf(seller, 'no-such-seller')).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
    });
    await expect(budgetOf(test.deployment.buyer.client, test.seller.id, 'visits')).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
    });
  });
});
