export const NOTIFICATIONS_QUEUE = 'notifications';

export type DealEvent =
  | 'result_ready'
  | 'deal_refunded'
  | 'deal_settled'
  | 'dispute_opened'
  | 'subscription_delivered'
  | 'subscription_payment_failed'
  | 'subscription_suspended'
  | 'milestone_released'
  | 'grant_ended'
  /** Template reviews (the id is the review's): a proposal reached its seller, or it ended. */
  | 'template_proposed'
  | 'template_approved'
  | 'template_rejected'
  | 'template_review_expired';

/** A BullMQ job: ids and an event name only; Redis never holds results or keys. */
export interface NotificationJob {
  partyId: string;
  /** The deal, or the lifecycle's own id (a subscription period, a grant). */
  dealId: string;
  event: DealEvent;
}
