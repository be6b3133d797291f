import { Worker } from '@temporalio/worker';
import { readEnv } from '../lib/env';
import { historyDataConverter, loadHistoryCodec } from '../lib/codec/history-codec';
import { announceReady, runMain } from '../lib/ready';
import { connectWorker, DEALS_TASK_QUEUE } from '../lib/temporal';

/** Runs the deal workflows. Holds no keys and touches no data: workflows only orchestrate. */
runMain('deals worker', async () => {
  const env = readEnv({});
  const worker = await Worker.create({
    connection: await connectWorker(env.TEMPORAL_ADDRESS),
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue: DEALS_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
  });
  announceReady('deals worker', `task queue ${DEALS_TASK_QUEUE}`);
  await worker.run();
});
