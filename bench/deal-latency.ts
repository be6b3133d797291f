/**
 * Deal latency against its baseline, in one run on one dataset:
 * - baseline: the same cohort aggregate run straight on the DuckDB file (warm, no sandbox, no workflow);
 * - deal: API submit → sealed result available, through Temporal, the perimeter sandbox, noisy release,
 *   sealing and the blob store.
 * Prints medians and the ratio. Usage: npm run bench:deal -- [--rows 1000000] [--runs 7]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { waitForStage } from '../cli/buyer/commands';
import type { DealStatus } from '../workflows/deal/state';
import { deployLocal } from '../scripts/lib/local-deployment';
import { startStack } from '../scripts/lib/stack';

const PARAMETERS = { min_age: 30, max_age: 50, sex: 'F' };
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function baselineMs(datasetPath: string, runs: number): Promise<number[]> {
  const instance = await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const sql = `SELECT zip3, diagnosis_code, count(DISTINCT person_id) AS patients, avg(cost) AS avg_cost, sum(cost) AS total_cost
    FROM patients WHERE age BETWEEN 30 AND 50 AND sex = 'F' GROUP BY ALL HAVING count(DISTINCT person_id) >= 20`;
  const times: number[] = [];
  try {
    await connection.runAndReadAll(sql); // warm-up
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await connection.runAndReadAll(sql);
      times.push(performance.now() - started);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return times;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '7' } },
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  const home = await mkdtemp(join(tmpdir(), 'tusk-bench-'));
  const stack = await startStack({ dataDir: join(home, 'stack'), log: () => undefined });
  const deployment = await deployLocal({
    home,
    temporalAddress: stack.temporalAddress,
    redisUrl: stack.redisUrl,
    rows,
    buyerFunds: 1_000_000n,
  });
  try {
    const { client, resultPublicKey } = deployment.buyer;
    const { templates } = await client.get<{ templates: { id: string; hash: string; price: string }[] }>(
      '/templates',
    );
    const template = templates.find((t) => t.id === 'cohort-cost-by-zip3')!;
    const deal = async () => {
      const started = performance.now();
      const created = await client.post<DealStatus>(
        '/deals',
        client.signed('cohort_query', {
          dealId: `bench-${crypto.randomUUID()}`,
          templateId: template.id,
          templateHash: template.hash,
          parameters: PARAMETERS,
          price: template.price,
          buyerPublicKey: resultPublicKey,
          compliance: {
            jurisdiction: 'US',
            purpose: 'research',
            acceptedDataClasses: ['health', 'deidentified'],
          },
        }),
      );
      await waitForStage(client, created.dealId, (s) => s.stage === 'delivered', 120_000, 10);
      return performance.now() - started;
    };
    await deal(); // warm-up: workflow bundle, sandbox open, caches
    const deals: number[] = [];
    for (let i = 0; i < runs; i++) deals.push(await deal());
    const baseline = await baselineMs(deployment.datasetPath, runs);
    const [b, d] = [median(baseline), median(deals)];
    console.log(`rows: ${rows.toLocaleString('en')}, runs: ${runs}`);
    console.log(`baseline (raw DuckDB aggregate, warm): median ${b.toFixed(1)} ms`);
    console.log(`deal (API submit → sealed result available): median ${d.toFixed(1)} ms`);
    console.log(`ratio deal / baseline: ${(d / b).toFixed(1)}×; overhead ${(d - b).toFixed(0)} ms`);
    console.log('(the deal is polled every 10 ms; each poll is a signed API request and a workflow query)');
  } finally {
    await deployment.stop();
    await stack.stop();
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
