import { z } from 'zod';

/** The lifecycles whose money steps an operator can retry, each named by its own id. */
export const retryTarget = z.enum(['deal', 'multi-seller-deal', 'subscription', 'grant']);
export type RetryTarget = z.infer<typeof retryTarget>;

export const operatorRetryBody = z.strictObject({
  kind: retryTarget.default('deal'),
  id: z.string().min(1).max(100),
});

export const operatorRetryAccepted = z
  .object({
    workflowId: z.string(),
    /** The failed steps being tried again (see the lifecycle's `attention`). */
    retrying: z.array(z.string()),
  })
  .meta({ id: 'OperatorRetryAccepted' });
