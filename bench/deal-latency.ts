/**
 * Deal latency and throughput against two baselines, measured in one run on one dataset, the three
 * interleaved run by run (a load spike on this shared machine hits all three alike):
 * - raw: the same cohort aggregate run straight on the DuckDB file (warm, no sandbox, no workflow);
 * - bare: a Temporal workflow with as many activities as a deal runs before its result is available
 *   (counted from the deal's own history), one of them that same raw query, on the same server:
 *   Temporal's floor plus the query;
 * - deal: API submit → sealed result available, through Temporal, the perimeter sandbox, noisy release,
 *   sealing and the blob store. Every deal has its own parameters (an identical query would be
 *   answered from the release cache) and its own buyer (each buyer's budget is bounded).
 * Then `--buyers` buyers each submit one deal at once: deals per second.
 * Usage: npm run bench:deal -- [--rows 1000000] [--runs 20] [--buyers 20] [--smoke]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { waitForDeal, type DealStatus } from '../sdk';
import { deployLocal, type BuyerIdentity, type LocalDeployment } from '../scripts/lib/local-deployment';
import { startStack } from '../stack/launcher';
import { bareChain } from './bare-workflow';

const COMPLIANCE = {
  jurisdiction: 'US',
  purpose: 'research',
  acceptedDataClasses: ['health', 'deidentified'],
};
const BARE_QUEUE = 'bench-bare';
/** The nearest-rank percentile (p in (0, 1]). */
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * values.length) - 1)]!;
const median = (values: number[]) => percentile(values, 0.5);
const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Distinct parameters for the i-th deal of the run. */
const parametersOf = (i: number) => ({
  min_age: 20 + (i % 40),
  max_age: 60 + (i % 40),
  sex: i % 2 ? 'M' : 'F',
});

const RAW_SQL = `SELECT zip3, diagnosis_code, count(DISTINCT person_id) AS patients, avg(cost) AS avg_cost, sum(cost) AS total_cost
  FROM patients WHERE age BETWEEN $min_age AND $max_age AND sex = $sex GROUP BY ALL HAVING count(DISTINCT person_id) >= 20`;

/** One warm read-only connection to the dataset: the raw runs and the bare workflow's query share it. */
async function openRawQuery(datasetPath: string) {
  const instance = await DuckDBInstance.create(datasetPath, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  const run = async (index: number) => {
    const started = performance.now();
    await connection.runAndReadAll(RAW_SQL, parametersOf(index));
    return performance.now() - started;
  };
  await run(0); // warm-up
  return {
    run,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** The bare workflow's worker, running beside the deals until `stop`. */
async function startBareWorker(temporalAddress: string, rawQuery: (index: number) => Promise<number>) {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: temporalAddress }),
    taskQueue: BARE_QUEUE,
    workflowsPath: require.resolve('./bare-workflow'),
    activities: { noop: async () => {}, rawQuery: async (index: number) => void (await rawQuery(index)) },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  return {
    async once(activities: number, index: number): Promise<number> {
      const started = performance.now();
      await client.workflow.execute(bareChain, {
        taskQueue: BARE_QUEUE,
        workflowId: `bench-bare-${crypto.randomUUID()}`,
        args: [activities, index],
      });
      return performance.now() - started;
    },
    async stop() {
      await connection.close();
      worker.shutdown();
      await running;
    },
  };
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
  const done = await waitForDeal(
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
  const runs = Number(values.runs ?? (smoke ? 1 : 20));
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
    const rawQuery = await openRawQuery(deployment.datasetPath);
    const bareWorker = await startBareWorker(stack.temporalAddress, rawQuery.run);
    const raw: number[] = [];
    const bare: number[] = [];
    const deals: number[] = [];
    try {
      await bareWorker.once(activities, 0); // warm-up
      for (let i = 1; i <= runs; i++) {
        deals.push((await deal(identities[i]!, template, i, 10)).ms);
        bare.push(await bareWorker.once(activities, i));
        raw.push(await rawQuery.run(i));
      }
    } finally {
      await bareWorker.stop();
      rawQuery.close();
    }

    const startedAll = performance.now();
    const together = await Promise.all(
      identities.slice(runs + 1).map((buyer, i) => deal(buyer, template, runs + 1 + i, 100)),
    );
    const wallSeconds = (performance.now() - startedAll) / 1000;

    const [r, b, d] = [median(raw), median(bare), median(deals)];
    const row = (label: string, values: number[]) =>
      console.log(
        `${label.padEnd(56)} p50 ${ms(median(values)).padStart(9)}   p95 ${ms(percentile(values, 0.95)).padStart(9)}`,
      );
    console.log(
      `rows: ${rows.toLocaleString('en')}, runs: ${runs} (interleaved), activities before delivery: ${activities}, load ${loadavg()[0]!.toFixed(2)}`,
    );
    row('raw (DuckDB aggregate, warm)', raw);
    row(`bare (Temporal workflow, ${activities} activities, one the query)`, bare);
    row('deal (API submit → sealed result available)', deals);
    console.log(
      `ratio deal / bare workflow (p50): ${(d / b).toFixed(2)}× (goal ≤ 2×); overhead over bare ${(d - b).toFixed(0)} ms`,
    );
    console.log(
      `ratio deal / raw query (p50): ${(d / r).toFixed(1)}×; deal p50 ${ms(d)} (goal ≤ 250 ms at 1M rows)`,
    );
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
