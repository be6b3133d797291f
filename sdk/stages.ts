import type { DealStage } from '../workflows/deal/state';
import { FINAL_GRANT_STAGES as GRANT_ENDS, type GrantStage } from '../workflows/grant/shapes';
import type { SubscriptionStage } from '../workflows/subscription/state';
import type { DisclosureStage } from '../workflows/disclosure/state';

/**
 * Where a lifecycle rests: nothing more happens until a party acts (delivered: the buyer confirms or
 * disputes) or ever (settled, refunded, failed). Waiting stops only at one of these.
 */
export const RESTING_DEAL_STAGES: ReadonlySet<DealStage> = new Set([
  'delivered',
  'confirmed',
  'disputed',
  'settled',
  'refunded',
  'failed',
  // A money step failed and waits for the operator's retry: nothing moves until someone acts.
  'needs_attention',
]);
/** A deal that ended without an answer the buyer keeps, or whose money is stuck until an operator acts. */
export const REFUSED_DEAL_STAGES: ReadonlySet<DealStage> = new Set(['refunded', 'failed', 'needs_attention']);

export const FINAL_GRANT_STAGES: ReadonlySet<GrantStage> = new Set(GRANT_ENDS);
export const REFUSED_GRANT_STAGES: ReadonlySet<GrantStage> = new Set(['failed']);

export const FINAL_SUBSCRIPTION_STAGES: ReadonlySet<SubscriptionStage> = new Set([
  'cancelled',
  'suspended',
  'completed',
]);

export const FINAL_DISCLOSURE_STAGES: ReadonlySet<DisclosureStage> = new Set([
  'approved',
  'denied',
  'lapsed',
  'expired',
]);
