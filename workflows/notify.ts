import { log } from '@temporalio/workflow';
import type { CoordinatorActivities } from '../activities/coordinator/activities';
import type { DealEvent } from '../activities/coordinator/notifications';
import { problemOf } from './activity-problem';

/** Notifications are best effort: a lifecycle never waits on, or fails for, a webhook. */
export async function notifyBestEffort(
  coordinator: CoordinatorActivities,
  partyId: string,
  dealId: string,
  event: DealEvent,
): Promise<void> {
  try {
    await coordinator.notifyParty({ partyId, dealId, event });
  } catch (error) {
    log.warn('notification not sent', { dealId, event, error: problemOf(error).code });
  }
}
