import type { Client } from '@temporalio/client';
import type { Party } from '../../lib/parties';
import { operatorRetryUpdate } from '../../workflows/guarded-settlement';
import type { OperatorRetryAccepted } from '../../workflows/settlement-attention';
import { grantWorkflowId, subscriptionWorkflowId } from '../../lib/ids/workflow-ids';
import { WorkflowCalls } from '../workflow-calls';
import type { RetryTarget } from './schemas';

const workflowIdOf: Record<RetryTarget, (id: string) => string> = {
  deal: (id) => id,
  'multi-seller-deal': (id) => id,
  subscription: subscriptionWorkflowId,
  grant: grantWorkflowId,
};

/** The operator's hand on money steps that failed: it asks the lifecycle to try them again. */
export class SettlementService {
  private readonly calls: WorkflowCalls;

  constructor(temporal: Client) {
    this.calls = new WorkflowCalls(temporal);
  }

  retry(operator: Party, kind: RetryTarget, id: string): Promise<OperatorRetryAccepted> {
    return this.calls.update(
      workflowIdOf[kind](id),
      operatorRetryUpdate,
      { by: operator.id },
      `${kind} ${id}`,
    );
  }
}
