import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import type { Context } from '@temporalio/activity';
import type { TuskMetrics } from './metrics';

const SETTLEMENT_ACTIONS = new Set(['lockEscrow', 'releaseEscrow', 'refundEscrow', 'recordReceipt']);

/** Times every activity this worker runs and counts it as a step of its lifecycle. */
export class ActivityMetricsInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly context: Context,
    private readonly metrics: TuskMetrics,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
    const { activityType, taskQueue, workflowType } = this.context.info;
    const started = performance.now();
    let outcome = 'failed';
    try {
      const result: unknown = await next(input);
      outcome = 'ok';
      return result;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.metrics.activityLatency.observe(
        { task_queue: taskQueue, activity: activityType, outcome },
        seconds,
      );
      this.metrics.dealStages.inc({ kind: workflowType ?? 'none', stage: activityType, outcome });
      if (SETTLEMENT_ACTIONS.has(activityType))
        this.metrics.settlementTx.observe({ action: activityType, outcome }, seconds);
    }
  }
}

export const activityMetricsInterceptor = (metrics: TuskMetrics) => (context: Context) => ({
  inbound: new ActivityMetricsInterceptor(context, metrics),
});
