import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { Queue } from 'bullmq';
import { z } from 'zod';
import { createCoordinatorActivities } from '../activities/coordinator/activities';
import { COORDINATOR_TASK_QUEUE } from '../lib/task-queues';
import { NOTIFICATIONS_QUEUE, type NotificationJob } from '../activities/coordinator/notifications';
import { blobStoreFromEnv } from '../lib/blob-store-env';
import { readEnv } from '../lib/env';
import { keyLogEnv, serviceKeyLog } from './service-key-log';
import { bullConnection } from '../lib/redis';
import { historyDataConverter, loadHistoryCodec } from '../lib/codec/history-codec';
import { startWorkerTelemetry } from '../lib/observability/worker-telemetry';
import { announceReady, runMain } from '../lib/ready';
import { connectWorker } from '../lib/temporal';

runMain('coordinator worker', async () => {
  const env = readEnv({
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    ...keyLogEnv,
  });
  const telemetry = await startWorkerTelemetry('coordinator-worker');
  const redis = bullConnection(env.REDIS_URL);
  const notifications = new Queue<NotificationJob>(NOTIFICATIONS_QUEUE, { connection: redis });
  // Closed after the run: the SDK's runtime (and its log forwarding) stops once nothing holds it.
  const connection = await connectWorker(env.TEMPORAL_ADDRESS);
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue: COORDINATOR_TASK_QUEUE,
    activities: createCoordinatorActivities({
      notifications,
      blobs: blobStoreFromEnv(env.blobDir),
      // Principals' keys as the transparency log proves them, not as the registry file says.
      keys: await serviceKeyLog(
        'coordinator',
        env,
        (reason) => {
          throw ApplicationFailure.nonRetryable(reason, 'KeyLogUnverified');
        },
        (message) => telemetry.logger.info(message),
      ),
    }),
    interceptors: telemetry.interceptors,
  });
  const endpoint = await telemetry.serve(() => ({
    healthy: worker.getState() === 'RUNNING',
    detail: { worker: worker.getState(), taskQueue: COORDINATOR_TASK_QUEUE },
  }));
  announceReady(
    'coordinator worker',
    `task queue ${COORDINATOR_TASK_QUEUE}, metrics ${endpoint}/metrics`,
    telemetry.logger,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    // BullMQ leaves a connection it was handed open; an open socket would keep this process alive.
    await notifications.close();
    await redis.quit();
    await telemetry.close();
  }
});
