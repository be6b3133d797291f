import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { CoordinatorActivities } from '../activities/coordinator/activities';
import type { SettlementActivities } from '../activities/settlement/activities';
import { COORDINATOR_TASK_QUEUE, perimeterTaskQueue, SETTLEMENT_TASK_QUEUE } from '../lib/task-queues';

/** A preset of ./activity-options.ts: the queue is the proxy's to choose, never the caller's. */
type Preset = Omit<ActivityOptions, 'taskQueue'>;

/** Settlement's activities, on the settlement worker's queue. */
export const settlementActivities = (preset: Preset) =>
  proxyActivities<SettlementActivities>({ taskQueue: SETTLEMENT_TASK_QUEUE, ...preset });

/** The coordinator's activities, on the coordinator worker's queue. */
export const coordinatorActivities = (preset: Preset) =>
  proxyActivities<CoordinatorActivities>({ taskQueue: COORDINATOR_TASK_QUEUE, ...preset });

/** One seller's perimeter activities, on that seller's own queue. */
export const perimeterActivities = <A extends object>(sellerId: string, preset: Preset) =>
  proxyActivities<A>({ taskQueue: perimeterTaskQueue(sellerId), ...preset });
