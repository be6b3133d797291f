import { Worker } from '@temporalio/worker';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createPerimeterActivities } from '../activities/perimeter/activities';
import { MilestoneRuns } from '../activities/perimeter/milestone-runs';
import { perimeterTaskQueue } from '../activities/perimeter/types';
import { cryptoRandom } from '../activities/perimeter/dp/random-source';
import { LEDGER_FILE, PrivacyLedger } from '../activities/perimeter/privacy-ledger';
import { readTrustedDatasetPolicy } from '../query-policies/dataset-policy-file';
import { blobStoreFromEnv } from '../lib/blob-store-env';
import { datasetList, readEnv, tuskHome } from '../lib/env';
import { historyDataConverter, loadHistoryCodec } from '../lib/codec/history-codec';
import { announceReady, runMain } from '../lib/ready';
import { connectWorker } from '../lib/temporal';

/**
 * Runs inside the seller's perimeter: the only process that opens the seller's DuckDB files, read-only,
 * and it runs nothing but templates this seller signed.
 */
runMain('perimeter worker', async () => {
  const env = readEnv({
    TUSK_SELLER_ID: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    TUSK_SELLER_PUBLIC_KEY: z.string().length(43, 'a base64url Ed25519 public key (43 characters)'),
    TUSK_DATASETS: datasetList,
    TUSK_POLICIES_DIR: z.string().optional(),
    /** Privacy ledger and released answers: inside the perimeter, one worker at a time. */
    TUSK_PERIMETER_STATE_DIR: z.string().optional(),
    TUSK_QUERY_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
    TUSK_SANDBOX_MEMORY: z.string().default('2GB'),
    TUSK_SANDBOX_THREADS: z.coerce.number().int().positive().default(2),
  });
  const taskQueue = perimeterTaskQueue(env.TUSK_SELLER_ID);
  const stateDir = resolve(env.TUSK_PERIMETER_STATE_DIR ?? `${tuskHome()}/perimeter/${env.TUSK_SELLER_ID}`);
  const policiesDir = resolve(env.TUSK_POLICIES_DIR ?? `query-policies/${env.TUSK_SELLER_ID}`);
  const datasets = Object.fromEntries(
    Object.entries(env.TUSK_DATASETS).map(([name, path]) => [name, resolve(path)]),
  );
  // Budgets come only from the seller's signed dataset policy: without a valid one, do not start.
  const policy = await readTrustedDatasetPolicy(policiesDir, env.TUSK_SELLER_ID, env.TUSK_SELLER_PUBLIC_KEY);
  for (const name of Object.keys(datasets).filter((name) => !policy.datasets[name]))
    console.warn(
      `tusk perimeter worker: the dataset policy sets no budget for ${name}: every deal on it is refused`,
    );
  // Held until the process ends: one perimeter worker per state directory.
  // A ledger that cannot be used (corrupt, unknown schema) refuses every deal with the reason.
  const ledger = PrivacyLedger.openOrRefuse(join(stateDir, LEDGER_FILE));
  if (ledger.unusable) console.error(`tusk perimeter worker: ${ledger.unusable}`);
  const milestoneRuns = new MilestoneRuns(stateDir);
  const worker = await Worker.create({
    connection: await connectWorker(env.TEMPORAL_ADDRESS),
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue,
    activities: createPerimeterActivities({
      sellerId: env.TUSK_SELLER_ID,
      sellerPublicKey: env.TUSK_SELLER_PUBLIC_KEY,
      policiesDir,
      datasets,
      blobs: blobStoreFromEnv(env.blobDir),
      limits: { memoryLimit: env.TUSK_SANDBOX_MEMORY, threads: env.TUSK_SANDBOX_THREADS },
      queryTimeoutMs: env.TUSK_QUERY_TIMEOUT_MS,
      ledger,
      milestoneRuns,
      random: cryptoRandom,
    }),
  });
  announceReady('perimeter worker', `task queue ${taskQueue}`);
  try {
    await worker.run();
  } finally {
    ledger.close();
    milestoneRuns.close();
  }
});
