import { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { readEnv } from '../lib/env';
import { historyDataConverter, loadHistoryCodec } from '../lib/codec/history-codec';
import { startWorkerTelemetry } from '../lib/observability/worker-telemetry';
import { announceReady, runMain } from '../lib/ready';
import { connectWorker } from '../lib/temporal';
import { DEALS_TASK_QUEUE } from '../lib/task-queues';

/** Runs the deal workflows. Holds no keys and touches no data: workflows only orchestrate. */
runMain('deals worker', async () => {
  const env = readEnv({
    // A bundle of this checkout's workflows/ built beforehand (the test suites build one per run,
    // not one per deployment: webpack takes about 10 s of CPU each time). Unset: built at start.
    TUSK_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  });
  const telemetry = await startWorkerTelemetry('deals-worker');
  // Closed after the run: the SDK's runtime (and its log forwarding) stops once nothing holds it.
  const connection = await connectWorker(env.TEMPORAL_ADDRESS);
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue: DEALS_TASK_QUEUE,
    ...(env.TUSK_WORKFLOW_BUNDLE
      ? { workflowBundle: { codePath: env.TUSK_WORKFLOW_BUNDLE } }
      : { workflowsPath: require.resolve('../workflows') }),
    interceptors: telemetry.interceptors,
  });
  const endpoint = await telemetry.serve(() => ({
    healthy: worker.getState() === 'RUNNING',
    detail: { worker: worker.getState(), taskQueue: DEALS_TASK_QUEUE },
  }));
  announceReady(
    'deals worker',
    `task queue ${DEALS_TASK_QUEUE}, metrics ${endpoint}/metrics`,
    telemetry.logger,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    await telemetry.close();
  }
});
