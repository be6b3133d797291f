import { Worker } from '@temporalio/worker';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { createPerimeterActivities } from '../activities/perimeter/activities';
import { MilestoneRuns } from '../activities/perimeter/milestone-runs';
import { loadPerimeterKey } from '../activities/perimeter/release-signing';
import { loadPerimeterSealingKey } from '../lib/perimeter-key';
import { perimeterTaskQueue } from '../lib/task-queues';
import { refuse } from '../activities/perimeter/refusal';
import { LOG_HEAD_FILE, TransparencyKeyLog } from '../lib/key-log';
import { perimeterRegistrationProblem } from '../activities/perimeter/registration-check';
import { perimeterSetupProblems } from '../activities/perimeter/startup-checks';
import { ReleaseProofFile } from '../activities/perimeter/release-logging';
import { cryptoRandom } from '../activities/perimeter/dp/random-source';
import { LEDGER_FILE, PrivacyLedger } from '../activities/perimeter/privacy-ledger';
import { readTrustedDatasetPolicy } from '../query-policies/dataset-policy-file';
import { blobStoreFromEnv } from '../lib/blob-store-env';
import { datasetList, readEnv, tuskHome } from '../lib/env';
import { historyDataConverter, loadHistoryCodec } from '../lib/codec/history-codec';
import { startWorkerTelemetry } from '../lib/observability/worker-telemetry';
import { announceReady, runMain } from '../lib/ready';
import { applyPerimeterConfig } from '../lib/seller-workspace';
import { connectWorker } from '../lib/temporal';

/**
 * Runs inside the seller's perimeter: the only process that opens the seller's DuckDB files, read-only,
 * and it runs nothing but templates this seller signed.
 */
runMain('perimeter worker', async () => {
  // `tusk seller init` writes perimeter.json; with TUSK_PERIMETER_CONFIG its settings fill the variables.
  applyPerimeterConfig();
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
    /** The operator's transparency log (the API's base URL): where parties' keys are registered. */
    TUSK_LOG_URL: z.url(),
    /** The operator's log-signing key, pinned: tree heads signed by any other key are refused. */
    TUSK_OPERATOR_PUBLIC_KEY: z.string().length(43, 'a base64url Ed25519 public key (43 characters)'),
  });
  const telemetry = await startWorkerTelemetry('perimeter-worker');
  const { logger } = telemetry;
  const taskQueue = perimeterTaskQueue(env.TUSK_SELLER_ID);
  const stateDir = resolve(env.TUSK_PERIMETER_STATE_DIR ?? `${tuskHome()}/perimeter/${env.TUSK_SELLER_ID}`);
  const policiesDir = resolve(env.TUSK_POLICIES_DIR ?? `query-policies/${env.TUSK_SELLER_ID}`);
  const datasets = Object.fromEntries(
    Object.entries(env.TUSK_DATASETS).map(([name, path]) => [name, resolve(path)]),
  );
  const limits = { memoryLimit: env.TUSK_SANDBOX_MEMORY, threads: env.TUSK_SANDBOX_THREADS };
  // Fail fast: a perimeter that cannot serve its datasets must not say it is ready.
  const problems = await perimeterSetupProblems({
    sellerPublicKey: env.TUSK_SELLER_PUBLIC_KEY,
    datasets,
    limits,
  });
  if (problems.length > 0) throw new Error(`cannot start:\n  - ${problems.join('\n  - ')}`);
  // Budgets come only from the seller's signed dataset policy: without a valid one, do not start.
  const policy = await readTrustedDatasetPolicy(policiesDir, env.TUSK_SELLER_ID, env.TUSK_SELLER_PUBLIC_KEY);
  for (const name of Object.keys(datasets).filter((name) => !policy.datasets[name]))
    logger.warn(
      { dataset: name },
      'the dataset policy sets no budget for this dataset: every deal on it is refused',
    );
  // Held until the process ends: one perimeter worker per state directory.
  // A ledger that cannot be used (corrupt, unknown schema) refuses every deal with the reason.
  const ledger = PrivacyLedger.openOrRefuse(join(stateDir, LEDGER_FILE));
  if (ledger.unusable) logger.error(ledger.unusable);
  const milestoneRuns = new MilestoneRuns(stateDir);
  // Its own key signs what it releases; the operator registers it so buyers can check the statements.
  const releaseKey = await loadPerimeterKey(stateDir);
  logger.info(
    { perimeterKey: releaseKey.publicKey },
    `perimeter key: tusk operator party add ${env.TUSK_SELLER_ID} --role seller --public-key ${env.TUSK_SELLER_PUBLIC_KEY} --perimeter-key ${releaseKey.publicKey}`,
  );
  const keyLog = new TransparencyKeyLog({
    logUrl: env.TUSK_LOG_URL.replace(/\/$/, ''),
    operatorPublicKey: env.TUSK_OPERATOR_PUBLIC_KEY,
    headFile: join(stateDir, LOG_HEAD_FILE),
    // The log answers signed requests only: the perimeter signs its questions as its seller, with
    // its own key, which the log registers as the seller's perimeter key.
    reader: { partyId: env.TUSK_SELLER_ID, privateKeyPem: releaseKey.privateKeyPem },
    untrusted: (reason) => refuse('KeyLogUnverified', reason),
  });
  const sealingKey = await loadPerimeterSealingKey(stateDir);
  // Not fatal (the operator may register the keys a minute later), but a newcomer whose perimeter
  // key is missing from the log otherwise sees deals that never answer, with no cause named.
  void perimeterRegistrationProblem(keyLog, {
    sellerId: env.TUSK_SELLER_ID,
    signingKey: releaseKey.publicKey,
    sealingKey: sealingKey.publicKey,
  }).then((problem) => problem && logger.warn(problem));
  const activities = createPerimeterActivities({
    sellerId: env.TUSK_SELLER_ID,
    sellerPublicKey: env.TUSK_SELLER_PUBLIC_KEY,
    policiesDir,
    datasets,
    blobs: blobStoreFromEnv(env.blobDir),
    limits,
    queryTimeoutMs: env.TUSK_QUERY_TIMEOUT_MS,
    ledger,
    milestoneRuns,
    random: cryptoRandom,
    keys: keyLog,
    // Each refundable release is logged before it is returned; the proofs are kept beside the ledger.
    releaseLog: keyLog,
    releaseProofs: new ReleaseProofFile(stateDir),
    releaseKey,
    // Drafts proposed to this seller are sealed to it; the log registers its public key next to the
    // signing key's (tusk service up, or tusk operator party add --perimeter-sealing-key).
    sealingKey,
  });
  // The dataset totals the perimeter already releases (all buyers together), never a buyer's own.
  telemetry.metrics.trackEpsilonSpent(
    Object.keys(policy.datasets),
    async (dataset) => (await activities.privacyBudget({ dataset })).total.spent.epsilon,
  );
  // Closed after the run: the SDK's runtime (and its log forwarding) stops once nothing holds it.
  const connection = await connectWorker(env.TEMPORAL_ADDRESS);
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue,
    activities,
    interceptors: telemetry.interceptors,
  });
  const endpoint = await telemetry.serve(() => ({
    healthy: worker.getState() === 'RUNNING',
    detail: { worker: worker.getState(), taskQueue: taskQueue },
  }));
  announceReady('perimeter worker', `task queue ${taskQueue}, metrics ${endpoint}/metrics`, logger);
  try {
    await worker.run();
  } finally {
    await connection.close();
    ledger.close();
    milestoneRuns.close();
    await telemetry.close();
  }
});
