import { Worker } from '@temporalio/worker';
import { resolve } from 'node:path';
import { z } from 'zod';
import { createSettlementActivities, SETTLEMENT_TASK_QUEUE } from '../activities/settlement/activities';
import { LocalLedger } from '../activities/settlement/local-ledger';
import { readEnv, tuskHome } from '../lib/env';
import { announceReady, runMain } from '../lib/ready';
import { connectWorker } from '../lib/temporal';

/** The only process that moves money. The adapter today is the local development ledger. */
runMain('settlement worker', async () => {
  const env = readEnv({
    TUSK_SETTLEMENT: z.enum(['local-ledger']).default('local-ledger'),
    TUSK_LEDGER_FILE: z.string().optional(),
  });
  const ledger = new LocalLedger(resolve(env.TUSK_LEDGER_FILE ?? `${tuskHome()}/ledger.jsonl`));
  const worker = await Worker.create({
    connection: await connectWorker(env.TEMPORAL_ADDRESS),
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: SETTLEMENT_TASK_QUEUE,
    activities: createSettlementActivities(ledger),
  });
  announceReady(
    'settlement worker',
    `task queue ${SETTLEMENT_TASK_QUEUE}, ${env.TUSK_SETTLEMENT} at ${ledger.path}`,
  );
  await worker.run();
});
