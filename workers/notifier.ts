import { Worker, type Job } from 'bullmq';
import { z } from 'zod';
import { NOTIFICATIONS_QUEUE, type NotificationJob } from '../activities/coordinator/notifications';
import { PartyRegistry } from '../lib/parties';
import { readEnv, tuskHome } from '../lib/env';
import { bullConnection } from '../lib/redis';
import { startPlainTelemetry } from '../lib/observability/worker-telemetry';
import { announceReady, runMain } from '../lib/ready';

/** Delivers deal events to parties' webhooks. A failed delivery throws, and BullMQ retries it with backoff. */
async function deliver(registry: PartyRegistry, job: Job<NotificationJob>): Promise<string> {
  const { partyId, dealId, event } = job.data;
  const party = registry.get(partyId);
  if (!party?.webhookUrl) return `no webhook for ${partyId}`;
  const response = await fetch(party.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dealId, event }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`webhook of ${partyId} answered ${response.status}`);
  return `delivered to ${partyId}`;
}

runMain('notifier', async () => {
  const env = readEnv({
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    TUSK_PARTIES_FILE: z.string().optional(),
  });
  const telemetry = await startPlainTelemetry('notifier');
  const registry = await PartyRegistry.load(env.TUSK_PARTIES_FILE ?? `${tuskHome()}/parties.json`);
  const redis = bullConnection(env.REDIS_URL);
  const worker = new Worker<NotificationJob, string>(NOTIFICATIONS_QUEUE, (job) => deliver(registry, job), {
    connection: redis,
    concurrency: 8,
  });
  worker.on('failed', (job, error) =>
    telemetry.logger.warn(
      { dealId: job?.data.dealId, event: job?.data.event, err: error.message },
      'notification failed',
    ),
  );
  await worker.waitUntilReady();
  const endpoint = await telemetry.serve(() => ({
    healthy: worker.isRunning(),
    detail: { queue: NOTIFICATIONS_QUEUE },
  }));
  announceReady(
    'notifier',
    `BullMQ queue ${NOTIFICATIONS_QUEUE}, metrics ${endpoint.url}/metrics`,
    telemetry.logger,
  );
  // BullMQ leaves a connection it was handed open: quit it, or the process would never exit.
  const stop = () =>
    void worker
      .close()
      .then(() => redis.quit())
      .finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
});
