/**
 * Deal latency and throughput against two baselines, measured in one run on one dataset:
 * - raw: the same cohort aggregate run straight on the DuckDB file (warm, no sandbox, no workflow);
 * - bare: a Temporal workflow that runs as many no-op activities as a deal runs before its result is
 *   available (counted from the deal's own history), on the same Temporal server: Temporal's floor;
 * - deal: API submit → sealed result available, through Temporal, the perimeter sandbox, noisy release,
 *   sealing and the blob store. Every deal has its own parameters (an identical query would be
 *   answered from the release cache) and its own buyer (each buyer's budget is bounded).
 * Then `--buyers` buyers each submit one deal at once: deals per second.
 * Usage: npm run bench:deal -- [--rows 1000000] [--runs 7] [--buyers 20] [--smoke]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { waitForStage } from '../cli/buyer/commands';
import type { DealStatus } from '../workflows/deal/state';
import { deployLocal, type BuyerIdentity, type LocalDeployment } from '../scripts/lib/local-deployment';
import { startStack } from '../scripts/lib/stack';
import { bareChain } from './bare-workflow';

const COMPLIANCE = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};
const BARE_QUEUE = 'bench-bare';
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Distinct parameters for the i-th deal of the run. */
const parametersOf = (i: number) => ({
  min_age: 20 + (i % 40),
  max_age: 60 + (i % 40),
  sex: i % 2 ? 'M' : 'F',
});

async function rawMs(datasetPath: string, runs: number): Promise<number[]> {
  const instance = await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const sql = `SELECT zip3, diagnosis_code, count(DISTINCT person_id) AS patients, avg(cost) AS avg_cost, sum(cost) AS total_cost
    FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex GROUP BY ALL HAVING count(DISTINCT person_id) >= 20`;
  const times: number[] = [];
  try {
    await connection.runAndReadAll(sql, parametersOf(0)); // warm-up
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await connection.runAndReadAll(sql, parametersOf(i + 1));
      times.push(performance.now() - started);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return times;
}

/** The same number of activities in a workflow that does nothing else, on the same server. */
async function bareMs(temporalAddress: string, activities: number, runs: number): Promise<number[]> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: temporalAddress }),
    taskQueue: BARE_QUEUE,
    workflowsPath: require.resolve('./bare-workflow'),
    activities: { noop: async () => {} },
  });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const times: number[] = [];
  try {
    await worker.runUntil(async () => {
      const once = async () => {
        const started = performance.now();
        await client.workflow.execute(bareChain, {
          taskQueue: BARE_QUEUE,
          workflowId: `bench-bare-${crypto.randomUUID()}`,
          args: [activities],
        });
        return performance.now() - started;
      };
      await once(); // warm-up
      for (let i = 0; i < runs; i++) times.push(await once());
    });
  } finally {
    await connection.close();
  }
  return times;
}

/** How many activities the deal ran before its result was available (it now waits for confirmation). */
async function activitiesBeforeDelivery(temporalAddress: string, dealId: string) {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    // Event types only: the payloads stay encrypted, nothing here needs them.
    const client = new Client({ connection });
    const history = await client.workflow.getHandle(dealId).fetchHistory();
    return (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes).length;
  } finally {
    await connection.close();
  }
}

async function deal(
  buyer: BuyerIdentity,
  template: { id: string; seller: string; hash: string; price: string },
  index: number,
  pollMs: number,
): Promise<{ dealId: string; ms: number }> {
  const { client, resultPublicKey } = buyer;
  const started = performance.now();
  const created = await client.post<DealStatus>(
    '/deals',
    client.signed('cohort_query', {
      dealId: `bench-${crypto.randomUUID()}`,
      templateId: template.id,
      sellerId: template.seller,
      templateHash: template.hash,
      parameters: parametersOf(index),
      price: template.price,
      buyerPublicKey: resultPublicKey,
      compliance: COMPLIANCE,
    }),
  );
  const done = await waitForStage(
    client,
    created.dealId,
    (s) => s.stage === 'delivered' || s.problem !== undefined,
    300_000,
    pollMs,
  );
  if (done.problem)
    throw new Error(`deal ${created.dealId} failed: ${done.problem.code}: ${done.problem.reason}`);
  return { dealId: created.dealId, ms: performance.now() - started };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      runs: { type: 'string' },
      buyers: { type: 'string' },
      smoke: { type: 'boolean', default: false },
    },
  });
  // --smoke: checks that the benchmark runs end to end, not how fast (CI).
  const smoke = values.smoke;
  const rows = Number(values.rows ?? (smoke ? 2000 : 1_000_000));
  const runs = Number(values.runs ?? (smoke ? 1 : 7));
  const concurrent = Number(values.buyers ?? (smoke ? 2 : 20));
  const home = await mkdtemp(join(tmpdir(), 'tusk-bench-'));
  const stack = await startStack({ dataDir: join(home, 'stack'), log: () => undefined });
  // One buyer per latency run (warm-up included) and per concurrent deal: budgets are per buyer.
  const buyers = Array.from({ length: runs + 1 + concurrent }, (_, i) => ({
    id: `bench-buyer-${i}`,
    role: 'buyer' as const,
    funds: 1_000_000n,
  }));
  let deployment: LocalDeployment | undefined;
  try {
    deployment = await deployLocal({
      home,
      temporalAddress: stack.temporalAddress,
      redisUrl: stack.redisUrl,
      rows,
      parties: buyers,
    });
    const identities = buyers.map((b) => deployment!.parties.get(b.id)!);
    const { templates } = await identities[0]!.client.get<{
      templates: { id: string; seller: string; hash: string; price: string }[];
    }>('/templates');
    const template = templates.find((t) => t.id === 'cohort-cost-by-zip3')!;

    const warmUp = await deal(identities[0]!, template, 0, 10); // workflow bundle, sandbox open, caches
    const activities = await activitiesBeforeDelivery(stack.temporalAddress, warmUp.dealId);
    const deals: number[] = [];
    for (let i = 1; i <= runs; i++) deals.push((await deal(identities[i]!, template, i, 10)).ms);
    const bare = await bareMs(stack.temporalAddress, activities, runs);
    const raw = await rawMs(deployment.datasetPath, runs);

    const startedAll = performance.now();
    const together = await Promise.all(
      identities.slice(runs + 1).map((buyer, i) => deal(buyer, template, runs + 1 + i, 100)),
    );
    const wallSeconds = (performance.now() - startedAll) / 1000;

    const [r, b, d] = [median(raw), median(bare), median(deals)];
    console.log(
      `rows: ${rows.toLocaleString('en')}, runs: ${runs}, activities before delivery: ${activities}`,
    );
    console.log(`raw (DuckDB aggregate, warm):                      median ${ms(r)}`);
    console.log(`bare (Temporal workflow, ${activities} no-op activities):      median ${ms(b)}`);
    console.log(`deal (API submit → sealed result available):       median ${ms(d)}`);
    console.log(
      `ratio deal / bare workflow: ${(d / b).toFixed(1)}×; overhead over bare ${(d - b).toFixed(0)} ms`,
    );
    console.log(`ratio deal / raw query: ${(d / r).toFixed(1)}×`);
    console.log(
      `throughput, ${concurrent} buyers at once: ${(concurrent / wallSeconds).toFixed(2)} deals/s ` +
        `(all delivered in ${wallSeconds.toFixed(1)} s; median deal ${ms(median(together.map((t) => t.ms)))})`,
    );
    console.log(
      '(a single deal is polled every 10 ms, concurrent ones every 100 ms: each poll is a signed request and a workflow query)',
    );
  } finally {
    await deployment?.stop();
    await stack.stop();
    await rm(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
