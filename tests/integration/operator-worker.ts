import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { historyDataConverter } from '../../lib/codec/history-codec';
import { connectWorker } from '../../lib/temporal';
import { operatorMoneyBack, type MoneyBackRequest } from '../fixtures/operator-refund-workflow';
import type { TestDeployment } from './harness';

/** A worker running the workflows only an operator would write (tests/fixtures/operator-refund-workflow.ts). */
export interface OperatorWorker {
  /** Runs one of the fixture's workflows on the operator's queue and returns its result. */
  execute<A extends unknown[], R>(workflow: (...args: A) => Promise<R>, args: A): Promise<R>;
  /** Asks settlement for money back (or a lock) as the operator: `moved`, or the refusal's type and reason. */
  moneyBack(request: MoneyBackRequest): Promise<string>;
  close(): Promise<void>;
}

/**
 * The operator's own worker beside the deployment, on its codec keys: what an operator who runs the
 * workflow workers can do, straight on Temporal, with no API in the way.
 */
export async function startOperatorWorker(test: TestDeployment, taskQueue: string): Promise<OperatorWorker> {
  const connection = await connectWorker(inject('temporalAddress'));
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: join(__dirname, '../fixtures/operator-refund-workflow.ts'),
    dataConverter: historyDataConverter(test.codec),
  });
  const running = worker.run();
  const execute = <A extends unknown[], R>(workflow: (...args: A) => Promise<R>, args: A) =>
    test.temporal.workflow.execute(workflow, {
      taskQueue,
      workflowId: `${taskQueue}-${crypto.randomUUID()}`,
      args,
    });
  return {
    execute,
    moneyBack: (request) => execute(operatorMoneyBack, [request]),
    close: async () => {
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** The local ledger's balances of these accounts, 0 for one it never saw. */
export async function ledgerBalances(test: TestDeployment, ...accounts: string[]) {
  const state = await test.deployment.ledger.state();
  return Object.fromEntries(accounts.map((a) => [a, state.balances.get(a) ?? 0n]));
}
