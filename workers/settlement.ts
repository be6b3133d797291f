import { Worker } from '@temporalio/worker';
import { resolve } from 'node:path';
import { z } from 'zod';
import { createSettlementActivities } from '../activities/settlement/activities';
import { PayerKeyRecords } from '../activities/settlement/payer-key-record';
import { SETTLEMENT_TASK_QUEUE } from '../lib/task-queues';
import { startAztecSettlement } from '../activities/settlement/aztec-start';
import { LocalLedger } from '../activities/settlement/local-ledger';
import { SettlementRefusedError, type SettlementPort } from '../activities/settlement/port';
import { DeliveryRecords } from '../activities/settlement/acceptance';
import { keyLogEnv, serviceKeyLog } from './service-key-log';
import { readEnv, tuskHome } from '../lib/env';
import { historyDataConverter, loadHistoryCodec } from '../lib/codec/history-codec';
import { startWorkerTelemetry } from '../lib/observability/worker-telemetry';
import { announceReady, runMain } from '../lib/ready';
import { connectWorker } from '../lib/temporal';

/**
 * The only process that moves money, and the only one that holds Aztec keys. `TUSK_SETTLEMENT=aztec`
 * settles on an Aztec network (this process must then run on the toolchain's Node 22, see README);
 * the default is the local development ledger.
 */
runMain('settlement worker', async () => {
  const env = readEnv({
    TUSK_SETTLEMENT: z.enum(['local-ledger', 'aztec']).default('local-ledger'),
    TUSK_LEDGER_FILE: z.string().optional(),
    TUSK_PARTIES_FILE: z.string().optional(),
    TUSK_SETTLEMENT_JOURNAL: z.string().optional(),
    TUSK_AZTEC_NODE_URL: z.url().optional(),
    // Must stay under the lock activity's start-to-close timeout (workflows/activity-options.ts).
    TUSK_PAYMENT_WINDOW_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(15 * 60_000)
      .default(10 * 60_000),
    ...keyLogEnv,
  });
  const telemetry = await startWorkerTelemetry('settlement-worker');
  let port: SettlementPort;
  let summary: string;
  let stop = async () => {};
  if (env.TUSK_SETTLEMENT === 'aztec') {
    // The Aztec SDK is imported only here: the local-ledger path never loads an @aztec module.
    const aztec = await startAztecSettlement({
      tuskHome: tuskHome(),
      blobDir: env.blobDir,
      partiesFile: resolve(env.TUSK_PARTIES_FILE ?? `${tuskHome()}/parties.json`),
      journalDir: resolve(env.TUSK_SETTLEMENT_JOURNAL ?? `${tuskHome()}/settlement-journal`),
      nodeUrl: env.TUSK_AZTEC_NODE_URL,
      reportLanded: (fields, message) => telemetry.logger.info(fields, message),
    });
    port = aztec.settlement;
    summary = aztec.summary;
    stop = () => aztec.stop();
  } else {
    const ledger = new LocalLedger(resolve(env.TUSK_LEDGER_FILE ?? `${tuskHome()}/ledger.jsonl`));
    port = ledger;
    summary = `local-ledger at ${ledger.path}`;
  }
  // Closed after the run: the SDK's runtime (and its log forwarding) stops once nothing holds it.
  const connection = await connectWorker(env.TEMPORAL_ADDRESS);
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    dataConverter: historyDataConverter(await loadHistoryCodec()),
    taskQueue: SETTLEMENT_TASK_QUEUE,
    activities: createSettlementActivities(port, {
      paymentWindowMs: env.TUSK_PAYMENT_WINDOW_MS,
      // Settlement's own record of when each deal was delivered (a payout waits out the signed window).
      deliveries: new DeliveryRecords(resolve(tuskHome(), 'settlement-deliveries')),
      // The payer's key each terms were first locked under: a rotation after signing strands nothing.
      payerKeys: new PayerKeyRecords(resolve(tuskHome(), 'settlement-payer-keys')),
      // The payer's key as the transparency log proves it, not as the operator's registry file says.
      keys: await serviceKeyLog(
        'settlement',
        env,
        (reason) => {
          throw new SettlementRefusedError('KeyLogUnverified', reason);
        },
        (message) => telemetry.logger.info(message),
      ),
    }),
    interceptors: telemetry.interceptors,
  });
  const endpoint = await telemetry.serve(() => ({
    healthy: worker.getState() === 'RUNNING',
    detail: { worker: worker.getState(), taskQueue: SETTLEMENT_TASK_QUEUE },
  }));
  announceReady(
    'settlement worker',
    `task queue ${SETTLEMENT_TASK_QUEUE}, ${summary}, metrics ${endpoint}/metrics`,
    telemetry.logger,
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    await stop();
    await telemetry.close();
  }
});
