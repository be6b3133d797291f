import type { Queue } from 'bullmq';
import type { BlobStore } from '../../lib/blob-store';
import type { RegisteredKeys } from '../../lib/key-log';
import { createLifecycleRecordActivities } from './lifecycle-records';
import { createHeSumActivities } from './he-sum';
import { createDecisionCheckActivities } from './decision-check';
import { createTemplateApprovalActivities } from './template-approval';
import type { NotificationJob } from './notifications';

export function createCoordinatorActivities(deps: {
  notifications: Queue<NotificationJob>;
  blobs: BlobStore;
  /** The transparency log's keys: who may approve what, and under which key. */
  keys: RegisteredKeys;
}) {
  return {
    ...createLifecycleRecordActivities(deps),
    ...createDecisionCheckActivities(deps),
    ...createTemplateApprovalActivities(deps),
    ...createHeSumActivities({ blobs: deps.blobs }),
    /** Enqueues a notification once per (deal, event, party): a retried activity adds no second job. */
    async notifyParty(job: NotificationJob): Promise<void> {
      await deps.notifications.add(job.event, job, {
        jobId: `${job.dealId}.${job.event}.${job.partyId}`,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    },
  };
}

export type CoordinatorActivities = ReturnType<typeof createCoordinatorActivities>;
