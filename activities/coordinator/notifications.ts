export const NOTIFICATIONS_QUEUE = 'notifications';

export type DealEvent = 'result_ready' | 'deal_refunded' | 'deal_settled';

/** A BullMQ job: ids and an event name only; Redis never holds results or keys. */
export interface NotificationJob {
  partyId: string;
  dealId: string;
  event: DealEvent;
}
