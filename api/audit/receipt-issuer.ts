import type { Client } from '@temporalio/client';
import { SETTLING_WORKFLOWS } from '../../lib/audit/deal-facts';
import { ApiError } from '../errors';
import type { ReceiptService } from './receipt-service';

/**
 * Issues the receipt of every deal that finished, without waiting for anyone to ask: a sweep over
 * Temporal's visibility for closed settling workflows, every `intervalMs`. A deal it cannot issue for
 * (not finished after all, Temporal away) is tried again on the next sweep; issuing is idempotent.
 */
export function startReceiptIssuer(
  temporal: Client,
  receipts: ReceiptService,
  options: { intervalMs: number; warn: (message: string) => void },
): () => Promise<void> {
  const types = Object.keys(SETTLING_WORKFLOWS)
    .map((type) => `'${type}'`)
    .join(', ');
  let running: Promise<void> = Promise.resolve();
  let since = 0;
  const sweep = async () => {
    const startedAt = Date.now();
    const after = new Date(Math.max(0, since - 60_000)).toISOString();
    const query = `WorkflowType IN (${types}) AND ExecutionStatus = 'Completed' AND CloseTime > '${after}'`;
    for await (const execution of temporal.workflow.list({ query })) {
      try {
        await receipts.receiptOf(execution.workflowId);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }
    since = startedAt;
  };
  const timer = setInterval(() => {
    running = running
      .then(sweep)
      .catch((error: unknown) =>
        options.warn(
          `receipt sweep failed, retried next time: ${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  }, options.intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
