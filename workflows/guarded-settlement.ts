import { condition, defineUpdate, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { problemOf } from './activity-problem';
import {
  SettlementAttention,
  type OperatorRetryAccepted,
  type OperatorRetryRequest,
} from './settlement-attention';

/** The operator asks a lifecycle to try its failed money steps again (`tusk operator retry`). */
export const operatorRetryUpdate = defineUpdate<OperatorRetryAccepted, [OperatorRetryRequest]>(
  'operatorRetry',
);

/** One step that moves money or gives back something reserved; each runs in its own guard. */
export interface GuardedStep {
  step: string;
  run(): Promise<unknown>;
}

/** Wires the operator's retry update to a lifecycle's attention list. */
export function handleOperatorRetry(attention: SettlementAttention): void {
  setHandler(
    operatorRetryUpdate,
    ({ by }) => {
      const retrying = attention.requestRetry();
      log.info('operator retry', { by, retrying });
      return { workflowId: workflowInfo().workflowId, retrying };
    },
    { validator: (_request: OperatorRetryRequest) => attention.assertRetryable() },
  );
}

/** Runs every step, each in its own try/catch: one that fails is listed, the others still run. */
export async function runGuarded(
  steps: GuardedStep[],
  attention: SettlementAttention,
): Promise<GuardedStep[]> {
  const failed: GuardedStep[] = [];
  for (const step of steps) {
    try {
      await step.run();
      attention.succeeded(step.step);
    } catch (error) {
      attention.failed(step.step, problemOf(error), Date.now());
      failed.push(step);
    }
  }
  return failed;
}

/**
 * Runs the steps until all have succeeded. Steps that fail wait for the operator: `waiting()` is
 * called (the lifecycle shows `needs_attention` with the reasons), and each operator retry runs the
 * failed steps again. Nothing is retried without the operator, so a step that cannot succeed costs
 * nothing while it waits.
 */
export async function settleGuarded(
  steps: GuardedStep[],
  attention: SettlementAttention,
  waiting: () => void,
): Promise<void> {
  let failed = await runGuarded(steps, attention);
  while (failed.length > 0) {
    waiting();
    const seen = attention.retries;
    await condition(() => attention.retries !== seen);
    failed = await runGuarded(failed, attention);
    attention.retryFinished();
  }
}
