import { Worker } from '@temporalio/worker';
import { resolve } from 'node:path';
import { z } from 'zod';
import { createPerimeterActivities } from '../activities/perimeter/activities';
import { perimeterTaskQueue } from '../activities/perimeter/types';
import { cryptoRandom } from '../activities/perimeter/dp/random-source';
import { holdPerimeterLock } from '../activities/perimeter/state-lock';
import { BlobStore } from '../lib/blob-store';
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
  const unlock = await holdPerimeterLock(stateDir);
  const worker = await Worker.create({
    connection: await connectWorker(env.TEMPORAL_ADDRESS),
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue,
    activities: createPerimeterActivities({
      sellerId: env.TUSK_SELLER_ID,
      sellerPublicKey: env.TUSK_SELLER_PUBLIC_KEY,
      policiesDir: resolve(env.TUSK_POLICIES_DIR ?? `query-policies/${env.TUSK_SELLER_ID}`),
      datasets: Object.fromEntries(
        Object.entries(env.TUSK_DATASETS).map(([name, path]) => [name, resolve(path)]),
      ),
      blobs: new BlobStore(env.blobDir),
      limits: { memoryLimit: env.TUSK_SANDBOX_MEMORY, threads: env.TUSK_SANDBOX_THREADS },
      queryTimeoutMs: env.TUSK_QUERY_TIMEOUT_MS,
      stateDir,
      random: cryptoRandom,
    }),
  });
  announceReady('perimeter worker', `task queue ${taskQueue}`);
  try {
    await worker.run();
  } finally {
    await unlock();
  }
});
