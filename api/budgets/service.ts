import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import type { Party, PartyRegistry } from '../../lib/parties';
import { budgetKeyOf } from '../../lib/signed-terms';
import { DEALS_TASK_QUEUE } from '../../lib/task-queues';
import { privacyBudgetLookup } from '../../workflows/budget/workflow';
import { budgetLookupWorkflowId } from '../../lib/ids/workflow-ids';
import { ApiError } from '../errors';
import type { BudgetView } from './schemas';

/** The innermost application failure of a failed workflow: the perimeter's refusal, if any. */
function refusalOf(error: WorkflowFailedError): ApplicationFailure | undefined {
  let cause: unknown = error.cause;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure) return cause;
    cause = cause.cause;
  }
  return undefined;
}

/**
 * What is left of a dataset's privacy budgets, as the seller's perimeter counts it. A buyer sees its
 * own budget and the dataset's total; the seller sees the total; nobody else sees either.
 */
export class BudgetService {
  constructor(
    private readonly temporal: Client,
    private readonly parties: PartyRegistry,
  ) {}

  async view(party: Party, sellerId: string, dataset: string): Promise<BudgetView> {
    if (this.parties.get(sellerId)?.role !== 'seller')
      throw new ApiError('not_found', `no seller ${sellerId}`);
    if (party.role === 'seller' && party.id !== sellerId)
      throw new ApiError('forbidden', `${party.id} may not see seller ${sellerId}'s budgets`);
    if (party.role !== 'buyer' && party.role !== 'seller')
      throw new ApiError(
        'forbidden',
        `only buyers and the dataset's seller see budgets; ${party.id} is a ${party.role}`,
      );
    // The perimeter charges a buyer's budget to the key that signed its terms (lib/signed-terms).
    const buyerId = party.role === 'buyer' ? budgetKeyOf(party.publicKey) : undefined;
    try {
      const figures = await this.temporal.workflow.execute(privacyBudgetLookup, {
        taskQueue: DEALS_TASK_QUEUE,
        workflowId: budgetLookupWorkflowId(randomUUID()),
        workflowExecutionTimeout: '30 seconds',
        args: [{ sellerId, dataset, ...(buyerId === undefined ? {} : { buyerId }) }],
      });
      return { sellerId, ...figures };
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      const refusal = refusalOf(error);
      if (refusal?.type === 'DatasetPolicyMissing') throw new ApiError('not_found', refusal.message);
      if (refusal?.type === 'LedgerUnavailable')
        throw new ApiError(
          'perimeter_unavailable',
          `seller ${sellerId}'s perimeter cannot read its privacy ledger`,
        );
      throw new ApiError(
        'perimeter_unavailable',
        `seller ${sellerId}'s perimeter did not answer; try again shortly`,
      );
    }
  }
}
