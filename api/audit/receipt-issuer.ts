import type { Client } from '@temporalio/client';
import type { AuditSubject } from '../../audit/subject';
import { ApiError } from '../errors';
import type { ReceiptService } from './receipt-service';

const GRANT_PREFIX = 'grant:';

/**
 * The workflows whose close settles their money, and the subject each is. A subscription's periods
 * settle while it runs on: their receipts are issued when first asked for (receipt or bundle).
 */
const SWEPT: Record<string, (workflowId: string) => AuditSubject> = {
  cohortQueryDeal: (dealId) => ({ kind: 'deal', dealId }),
  multiSellerDeal: (dealId) => ({ kind: 'deal', dealId }),
  milestoneGrant: (id) => ({ kind: 'grant', grantId: id.slice(GRANT_PREFIX.length) }),
};

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
  const types = Object.keys(SWEPT)
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
        await receipts.receiptOf(SWEPT[execution.type]!(execution.workflowId));
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
