import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { spendableBalanceLookup } from '../../workflows/balance/workflow';
import { balanceLookupWorkflowId } from '../../lib/ids/workflow-ids';
import { ApiError } from '../errors';

/**
 * Refuses, at creation, a commitment the payer cannot afford, where settlement can tell: the local
 * ledger knows every balance; on Aztec balances are private to the payer's wallet, so nothing is
 * refused here and the escrow lock refuses later instead. A settlement that does not answer in time
 * does not block creation either: the lock still checks.
 */
export async function assertAffordable(temporal: Client, payerId: string, amount: string, what: string) {
  const balance = await temporal.workflow
    .execute(spendableBalanceLookup, {
      taskQueue: DEALS_TASK_QUEUE,
      workflowId: balanceLookupWorkflowId(randomUUID()),
      workflowExecutionTimeout: '15 seconds',
      args: [{ account: payerId }],
    })
    .catch(() => null);
  if (balance !== null && BigInt(balance) < BigInt(amount))
    throw new ApiError('insufficient_funds', `${what} needs ${amount} but ${payerId} holds ${balance}`);
}
